import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { answerMultipleHostsWithProblem } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { raw } from '../support/raw-http.js';
import { startGuardApp, type TestPlatform } from './guard-test.app.js';

function request(path: string, hosts: string[], headers: string[] = []): string {
  return (
    `POST ${path} HTTP/1.1\r\n` +
    hosts.map((h) => `Host: ${h}\r\n`).join('') +
    headers.map((h) => `${h}\r\n`).join('') +
    'Content-Length: 0\r\nConnection: close\r\n\r\n'
  );
}

describe.each<TestPlatform>(['express', 'fastify'])(
  'finding 7: two Host headers are answered 400 (RFC 9112 §3.2), on %s',
  (platform) => {
    let key: TestKey;
    let guarded: { app: INestApplication; port: number };
    let installed: { app: INestApplication; port: number };
    beforeAll(async () => {
      key = await makeKey('EdDSA');
      const start = async (install: boolean) => {
        const { app } = await startGuardApp({}, platform);
        if (install) answerMultipleHostsWithProblem(app.getHttpServer());
        return { app, port: (app.getHttpServer().address() as { port: number }).port };
      };
      [guarded, installed] = await Promise.all([start(false), start(true)]);
    });
    afterAll(async () => {
      await guarded.app.close();
      await installed.app.close();
    });

    it('the guard refuses a guarded route reached with two Host headers, proof valid for the first', async () => {
      const proof = await makeProof(key, { htm: 'POST', htu: 'http://a.example/items' });
      const reply = await raw(
        guarded.port,
        request('/items', ['a.example', 'b.example'], [`DPoP: ${proof}`]),
      );
      expect(reply.status).toBe(400);
      expect(reply.head).toMatch(/content-type: application\/problem\+json/i);
      expect(JSON.parse(reply.body)).toMatchObject({
        status: 400,
        code: 'ERR_DPOP_MULTIPLE_HOSTS',
        type: 'urn:nest-dpop:problem:invalid-host',
      });
    });

    it('the installed handler refuses every route, @SkipDPoP() ones included', async () => {
      for (const path of ['/public', '/items', '/no-such-route']) {
        const method = path === '/public' ? 'GET' : 'POST';
        const reply = await raw(
          installed.port,
          request(path, ['a.example', 'b.example']).replace(/^POST/, method),
        );
        expect({ path, status: reply.status }).toEqual({ path, status: 400 });
        expect(JSON.parse(reply.body)).toMatchObject({
          type: 'urn:nest-dpop:problem:invalid-host',
          status: 400,
          code: 'ERR_DPOP_MULTIPLE_HOSTS',
        });
      }
    });

    it('one Host header still works, through the installed handler and the guard', async () => {
      const proof = await makeProof(key, { htm: 'POST', htu: 'http://a.example/items' });
      for (const port of [guarded.port, installed.port]) {
        const reply = await raw(port, request('/items', ['a.example'], [`DPoP: ${proof}`]));
        expect(reply.status).toBe(200);
        // Each app has its own replay store: the same proof is fresh for both.
      }
      const get = await raw(
        installed.port,
        request('/public', ['a.example']).replace(/^POST/, 'GET'),
      );
      expect(get.status).toBe(200);
    });
  },
);
