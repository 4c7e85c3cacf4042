import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { raw } from '../support/raw-http.js';
import { bootApp, type Harness } from './app-harness.js';

/** Issue 11 finding 7, in the sample app: the handler installed by configureApp answers first. */
describe('finding 7 (sample app): a request with two Host headers is refused on every route', () => {
  let h: Harness;
  let port: number;

  beforeAll(async () => {
    h = await bootApp();
    await new Promise<void>((resolve) => h.server.listen(0, '127.0.0.1', resolve));
    port = (h.server.address() as AddressInfo).port;
  });
  afterAll(() => h.close());

  it.each(['/health', '/.well-known/arcp-configuration', '/auth/agent/request_temp_token'])(
    '%s: 400 invalid-host problem with ARCP’s problem type',
    async (path) => {
      const reply = await raw(
        port,
        `GET ${path} HTTP/1.1\r\nHost: arcp.test\r\nHost: other.example\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status).toBe(400);
      expect(reply.head).toMatch(/content-type: application\/problem\+json/i);
      expect(JSON.parse(reply.body)).toMatchObject({
        type: 'https://arcp.0x001.tech/docs/problems/invalid-host',
        status: 400,
        code: 'ERR_DPOP_MULTIPLE_HOSTS',
      });
    },
  );

  it('one Host header is served as usual', async () => {
    const reply = await raw(
      port,
      'GET /health HTTP/1.1\r\nHost: arcp.test\r\nConnection: close\r\n\r\n',
    );
    expect(reply.status).toBe(200);
  });
});
