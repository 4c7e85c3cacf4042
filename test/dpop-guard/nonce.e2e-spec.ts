import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { startGuardApp, type TestPlatform } from './guard-test.app.js';

const SECRET = 'nonce-secret-shared-by-every-instance-0123456789';

describe.each<TestPlatform>(['express', 'fastify'])(
  'server nonces (RFC 9449 §8) on %s',
  (platform) => {
    let key: TestKey;
    let a: { app: INestApplication; base: string };
    let b: { app: INestApplication; base: string };
    const publicUrl = 'http://api.test';

    beforeAll(async () => {
      key = await makeKey('ES256');
      // Two instances with one secret and one public URL, as behind a load balancer.
      a = await startGuardApp({ nonce: { secret: SECRET }, publicUrl }, platform);
      b = await startGuardApp({ nonce: { secret: SECRET }, publicUrl }, platform);
    });
    afterAll(async () => {
      await a.app.close();
      await b.app.close();
    });

    const send = (base: string, path: string, proof: string) =>
      fetch(base + path, { method: 'POST', headers: { DPoP: proof } });

    it('challenges a proof without a nonce at a resource with 401 use_dpop_nonce and a fresh nonce', async () => {
      const res = await send(
        a.base,
        '/items',
        await makeProof(key, { htm: 'POST', htu: `${publicUrl}/items` }),
      );
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce", /);
      expect(res.headers.get('dpop-nonce')).toEqual(expect.any(String));
      const body = (await res.json()) as { type: string; code: string };
      expect(body.code).toBe('ERR_DPOP_USE_NONCE');
      expect(body.type).toBe('urn:nest-dpop:problem:dpop-nonce-required');
    });

    it('answers at a token endpoint with 400 {"error":"use_dpop_nonce"} and a DPoP-Nonce header', async () => {
      const res = await send(
        a.base,
        '/token',
        await makeProof(key, { htm: 'POST', htu: `${publicUrl}/token` }),
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('dpop-nonce')).toEqual(expect.any(String));
      expect(await res.json()).toEqual({
        error: 'use_dpop_nonce',
        error_description:
          'DPoP proof must carry the server nonce: send the request again with a new proof ' +
          'whose nonce claim is the DPoP-Nonce header of this response',
      });
    });

    it('accepts the retry with the nonce, on this instance and on the other one', async () => {
      const challenge = await send(
        a.base,
        '/token',
        await makeProof(key, { htm: 'POST', htu: `${publicUrl}/token` }),
      );
      const nonce = challenge.headers.get('dpop-nonce')!;
      const retry = await send(
        a.base,
        '/token',
        await makeProof(key, { htm: 'POST', htu: `${publicUrl}/token`, claims: { nonce } }),
      );
      expect(retry.status).toBe(200);
      expect(await retry.json()).toEqual({ jkt: key.jkt });
      // The current nonce is not handed out again on success.
      expect(retry.headers.get('dpop-nonce')).toBeNull();
      const other = await send(
        b.base,
        '/items',
        await makeProof(key, { htm: 'POST', htu: `${publicUrl}/items`, claims: { nonce } }),
      );
      expect(other.status).toBe(200);
    });

    it('refuses a made-up nonce and a nonce of the wrong type', async () => {
      const forged = await send(
        a.base,
        '/items',
        await makeProof(key, {
          htm: 'POST',
          htu: `${publicUrl}/items`,
          claims: { nonce: 'abc.def' },
        }),
      );
      expect(forged.status).toBe(401);
      expect(((await forged.json()) as { code: string }).code).toBe('ERR_DPOP_USE_NONCE');
      const typed = await send(
        a.base,
        '/items',
        await makeProof(key, { htm: 'POST', htu: `${publicUrl}/items`, claims: { nonce: 7 } }),
      );
      expect(((await typed.json()) as { code: string }).code).toBe('ERR_DPOP_INVALID_CLAIM');
    });

    it('refuses a nonce from an instance with another secret', async () => {
      const stranger = await startGuardApp(
        { nonce: { secret: 'another-instance-with-its-own-secret-0123' }, publicUrl },
        platform,
      );
      try {
        const challenge = await send(
          stranger.base,
          '/items',
          await makeProof(key, { htm: 'POST', htu: `${publicUrl}/items` }),
        );
        const nonce = challenge.headers.get('dpop-nonce')!;
        const res = await send(
          a.base,
          '/items',
          await makeProof(key, { htm: 'POST', htu: `${publicUrl}/items`, claims: { nonce } }),
        );
        expect(res.status).toBe(401);
      } finally {
        await stranger.app.close();
      }
    });

    it('hands out the new nonce with a success answered on a rotated window', async () => {
      // A clock that can jump a window ahead: the old nonce is still accepted, the new one rides along.
      let now = Date.now();
      const clocked = await startGuardApp(
        { nonce: { secret: SECRET, windowSeconds: 60 }, publicUrl, clock: () => now },
        platform,
      );
      try {
        const first = await send(
          clocked.base,
          '/items',
          await makeProof(key, {
            htm: 'POST',
            htu: `${publicUrl}/items`,
            iat: Math.floor(now / 1000),
          }),
        );
        const nonce = first.headers.get('dpop-nonce')!;
        now += 60_000;
        const res = await send(
          clocked.base,
          '/items',
          await makeProof(key, {
            htm: 'POST',
            htu: `${publicUrl}/items`,
            iat: Math.floor(now / 1000),
            claims: { nonce },
          }),
        );
        expect(res.status).toBe(200);
        const fresh = res.headers.get('dpop-nonce');
        expect(fresh).toEqual(expect.any(String));
        expect(fresh).not.toBe(nonce);
        expect(res.headers.get('cache-control')).toBe('no-store');
        now += 60_000; // two windows after it was issued, the first nonce has expired
        const late = await send(
          clocked.base,
          '/items',
          await makeProof(key, {
            htm: 'POST',
            htu: `${publicUrl}/items`,
            iat: Math.floor(now / 1000),
            claims: { nonce },
          }),
        );
        expect(late.status).toBe(401);
      } finally {
        await clocked.app.close();
      }
    });
  },
);
