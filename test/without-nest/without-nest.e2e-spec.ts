import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DPoPRequestPolicy, type DPoPModuleOptions } from 'nest-dpop';
import { startPlainApp } from '../support/plain-apps.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { accessToken } from '../dpop-guard/guard-test.app.js';

// docs/without-nest.md, for real: the Express middleware and the Fastify hook it shows (the
// files in examples/without-nest, which the page quotes verbatim) in real apps, with real proofs.

/** Starts an app of each kind with one policy each, and returns their base URLs. */
async function startApps(options: DPoPModuleOptions): Promise<{
  express: string;
  fastify: string;
  close: () => Promise<void>;
}> {
  const [express, fastify] = await Promise.all([
    startPlainApp('express', DPoPRequestPolicy.create(options)),
    startPlainApp('fastify', DPoPRequestPolicy.create(options)),
  ]);
  return {
    express: express.base,
    fastify: fastify.base,
    close: async () => {
      await Promise.all([express.close(), fastify.close()]);
    },
  };
}

async function post(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

describe('docs/without-nest.md: DPoP in a plain Express and a plain Fastify app', () => {
  let key: TestKey;
  let thief: TestKey;
  let apps: Awaited<ReturnType<typeof startApps>>;
  beforeAll(async () => {
    [key, thief] = await Promise.all([makeKey('EdDSA'), makeKey('ES256')]);
    apps = await startApps({ required: true });
  });
  afterAll(async () => {
    await apps?.close();
  });

  for (const platform of ['express', 'fastify'] as const) {
    describe(platform, () => {
      const url = () => `${apps[platform]}/items`;

      it('accepts a valid proof and hands it to the route', async () => {
        const proof = await makeProof(key, { htm: 'POST', htu: url() });
        const reply = await post(url(), { DPoP: proof });
        expect({ status: reply.status, body: reply.body }).toEqual({
          status: 200,
          body: { jkt: key.jkt },
        });
      });

      it('refuses a replayed proof: 401 problem with the DPoP challenge', async () => {
        const proof = await makeProof(key, { htm: 'POST', htu: url() });
        expect((await post(url(), { DPoP: proof })).status).toBe(200);
        const replay = await post(url(), { DPoP: proof });
        expect({ status: replay.status, code: replay.body.code }).toEqual({
          status: 401,
          code: 'ERR_DPOP_REPLAY',
        });
        expect(replay.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(replay.headers.get('www-authenticate')).toMatch(
          /^DPoP error="invalid_dpop_proof", .*algs="/,
        );
        expect(replay.body.instance).toBe('/items');
      });

      it('refuses a bound token with a proof from the wrong key', async () => {
        const token = accessToken(key.jkt);
        const proof = await makeProof(thief, { htm: 'POST', htu: url(), accessToken: token });
        const reply = await post(url(), { Authorization: `DPoP ${token}`, DPoP: proof });
        expect({ status: reply.status, code: reply.body.code }).toEqual({
          status: 401,
          code: 'ERR_DPOP_BINDING_MISMATCH',
        });
        expect(reply.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
        // The right key passes.
        const own = await makeProof(key, { htm: 'POST', htu: url(), accessToken: token });
        expect((await post(url(), { Authorization: `DPoP ${token}`, DPoP: own })).status).toBe(200);
      });

      it('refuses a request without a proof (required): 401 and a bare challenge', async () => {
        const reply = await post(url(), {});
        expect({ status: reply.status, code: reply.body.code }).toEqual({
          status: 401,
          code: 'ERR_DPOP_MISSING',
        });
        expect(reply.headers.get('www-authenticate')).toMatch(/^DPoP algs="/);
      });
    });
  }

  it('hands out DPoP-Nonce: with nonces required, a proof without one gets 401 use_dpop_nonce', async () => {
    const noncing = await startApps({
      required: true,
      nonce: { secret: 'a-shared-secret-of-32-characters!' },
    });
    try {
      for (const base of [noncing.express, noncing.fastify]) {
        const first = await post(`${base}/items`, {
          DPoP: await makeProof(key, { htm: 'POST', htu: `${base}/items` }),
        });
        expect({ status: first.status, code: first.body.code }).toEqual({
          status: 401,
          code: 'ERR_DPOP_USE_NONCE',
        });
        const nonce = first.headers.get('dpop-nonce');
        expect(nonce).toEqual(expect.any(String));
        const retry = await post(`${base}/items`, {
          DPoP: await makeProof(key, { htm: 'POST', htu: `${base}/items`, claims: { nonce } }),
        });
        expect(retry.status).toBe(200);
      }
    } finally {
      await noncing.close();
    }
  });

  it('the page quotes both files verbatim', () => {
    const page = readFileSync(new URL('../../docs/without-nest.md', import.meta.url), 'utf8');
    const blocks = [...page.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    for (const file of ['dpop.express-middleware.ts', 'dpop.fastify-hook.ts']) {
      const source = readFileSync(
        new URL(`../../examples/without-nest/${file}`, import.meta.url),
        'utf8',
      );
      expect({ file, quoted: blocks.includes(source) }).toEqual({ file, quoted: true });
    }
  });
});
