import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { answerClientErrorsWithProblems } from 'nest-dpop';
import { startGuardApp, type TestPlatform } from './guard-test.app.js';

/** Raw HTTP exchange, so that nothing on the client side trims or refuses what we send. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe.each<TestPlatform>(['express', 'fastify'])(
  'requests Node refuses itself, on %s',
  (platform) => {
    let app: INestApplication;
    let port: number;
    beforeAll(async () => {
      ({ app } = await startGuardApp({}, platform));
      answerClientErrorsWithProblems(app.getHttpServer());
      port = (app.getHttpServer().address() as { port: number }).port;
    });
    afterAll(() => app.close());

    it('answers a 100 KB DPoP header with a 431 problem, and keeps serving', async () => {
      const status = await new Promise<{ code: number; type: string; body: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port,
              path: '/items',
              method: 'POST',
              headers: { DPoP: 'a'.repeat(100 * 1024) },
            },
            (res) => {
              let body = '';
              res.on('data', (c) => (body += c));
              res.on('end', () =>
                resolve({ code: res.statusCode!, type: res.headers['content-type']!, body }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
      expect(status.code).toBe(431);
      expect(status.type).toBe('application/problem+json');
      expect(JSON.parse(status.body)).toMatchObject({
        type: 'urn:nest-dpop:problem:headers-too-large',
        status: 431,
      });
      const ok = await fetch(`http://127.0.0.1:${port}/public`);
      expect(ok.status).toBe(200);
    });

    it('answers a request line that is not HTTP with a 400 problem', async () => {
      const response = await raw(port, 'NOT HTTP AT ALL\r\n\r\n');
      expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(response).toContain('application/problem+json');
      expect(response).toContain('urn:nest-dpop:problem:invalid-request');
    });
  },
);
