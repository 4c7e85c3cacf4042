import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { startGuardApp, type TestPlatform } from './guard-test.app.js';

describe.each<TestPlatform>(['express', 'fastify'])(
  'htu behind reverse proxies on %s',
  (platform) => {
    let key: TestKey;
    let trusted: { app: INestApplication; base: string };
    let untrusted: { app: INestApplication; base: string };

    beforeAll(async () => {
      key = await makeKey('EdDSA');
      // The tests connect from 127.0.0.1: trusted by the first app, not by the second.
      trusted = await startGuardApp({ trustedProxies: ['127.0.0.0/8', '::1'] }, platform);
      untrusted = await startGuardApp({ trustedProxies: ['10.0.0.0/8'] }, platform);
    });
    afterAll(async () => {
      await trusted.app.close();
      await untrusted.app.close();
    });

    const send = async (base: string, htu: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}/items`, {
        method: 'POST',
        headers: { DPoP: await makeProof(key, { htm: 'POST', htu }), ...headers },
      });
      return {
        status: res.status,
        code: res.status === 200 ? undefined : ((await res.json()) as { code: string }).code,
      };
    };

    it('uses X-Forwarded-Proto and X-Forwarded-Host from a trusted proxy', async () => {
      const res = await send(trusted.base, 'https://public.example/items', {
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'public.example',
      });
      expect(res).toEqual({ status: 200, code: undefined });
    });

    it('uses the nearest (last) value when a chain of proxies appended several', async () => {
      const res = await send(trusted.base, 'https://edge.example/items', {
        'X-Forwarded-Proto': 'http, https',
        'X-Forwarded-Host': 'evil.example, edge.example',
      });
      expect(res.status).toBe(200);
    });

    it('ignores a Forwarded header when the proxies are said to set X-Forwarded-*', async () => {
      // The proxy set X-Forwarded-Host; a client-made Forwarded passed through must not count.
      const res = await send(trusted.base, 'https://client-chosen.example/items', {
        Forwarded: 'proto=https;host=client-chosen.example',
        'X-Forwarded-Host': 'proxy-set.example',
      });
      expect(res).toEqual({ status: 401, code: 'ERR_DPOP_HTU_MISMATCH' });
    });

    it('reads scheme and host from RFC 7239 Forwarded only, when configured so', async () => {
      const rfc = await startGuardApp(
        { trustedProxies: ['127.0.0.1', '::1'], forwardedHeaders: 'forwarded' },
        platform,
      );
      try {
        const ok = await send(rfc.base, 'https://fwd.example/items', {
          Forwarded: 'for=1.2.3.4;proto=https;host="fwd.example"',
          'X-Forwarded-Host': 'other.example',
        });
        expect(ok.status).toBe(200);
        // The proxy's element has no host: fall back to Host, never to a client's X-Forwarded-Host.
        const port = new URL(rfc.base).port;
        const fallback = await send(rfc.base, `https://127.0.0.1:${port}/items`, {
          Forwarded: 'for=1.2.3.4;proto=https',
          'X-Forwarded-Host': 'client.example',
        });
        expect(fallback.status).toBe(200);
        const smuggled = await send(rfc.base, 'https://client.example/items', {
          Forwarded: 'for=1.2.3.4;proto=https',
          'X-Forwarded-Host': 'client.example',
        });
        expect(smuggled).toEqual({ status: 401, code: 'ERR_DPOP_HTU_MISMATCH' });
      } finally {
        await rfc.app.close();
      }
    });

    it('ignores forwarded headers from a connection that is not a trusted proxy', async () => {
      const res = await send(untrusted.base, 'https://public.example/items', {
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'public.example',
      });
      expect(res).toEqual({ status: 401, code: 'ERR_DPOP_HTU_MISMATCH' });
      // …and still accepts the URL the connection really reached.
      expect(
        (await send(untrusted.base, `${untrusted.base}/items`, { 'X-Forwarded-Host': 'x.example' }))
          .status,
      ).toBe(200);
    });

    it('refuses a forwarded host or proto that is not well formed', async () => {
      const cases: Array<Record<string, string>> = [
        { 'X-Forwarded-Host': 'evil.example/path' },
        { 'X-Forwarded-Host': 'user@evil.example' },
        { 'X-Forwarded-Proto': 'gopher' },
      ];
      for (const headers of cases) {
        expect(await send(trusted.base, 'https://evil.example/path/items', headers)).toEqual({
          status: 401,
          code: 'ERR_DPOP_HTU_MISMATCH',
        });
      }
    });

    it('refuses a bad trustedProxies entry at start-up', async () => {
      await expect(startGuardApp({ trustedProxies: ['not-an-ip'] }, platform)).rejects.toThrow(
        /not-an-ip/,
      );
    });
  },
);
