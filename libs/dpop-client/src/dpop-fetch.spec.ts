import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DPoPError, DPoPProofVerifier, InMemoryJtiStore } from 'nest-dpop';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  jwsPayload,
  listen,
  sendJson,
  type TestServer,
} from '../../../test/client/support/http.js';
import { createDPoPFetch, isNonceChallenge } from './dpop-fetch.js';
import { DPoPGenerator } from './dpop-generator.js';
import { DPoPNonceStore } from './dpop-nonce.store.js';

/** One request as the server saw it. */
interface Hit {
  method: string;
  path: string;
  authorization?: string;
  proof: Record<string, unknown>;
  body: string;
}

type Challenge = '401' | '400';

/**
 * A server that demands a DPoP nonce (RFC 9449 §8/§9): every proof is verified for real (signature,
 * htm, htu, ath, replay); one without the current nonce gets the challenge in the chosen form.
 */
async function nonceServer(options: {
  challenge: Challenge;
  /** The nonce proofs must carry; a function to rotate it per request. */
  nonce: () => string;
  /** A nonce to hand out on successful answers (a rotation, RFC 9449 §8.2). */
  nextNonce?: () => string | undefined;
  /** Omit the `DPoP-Nonce` header from challenges. */
  withoutNonceHeader?: boolean;
}): Promise<TestServer & { hits: Hit[] }> {
  const hits: Hit[] = [];
  const verifier = new DPoPProofVerifier(new InMemoryJtiStore());
  let base = '';
  const server = await listen(async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const proof = jwsPayload(req.headers.dpop);
    const { method, url: path, headers } = req as { method: string; url: string } & typeof req;
    hits.push({ method, path, authorization: headers.authorization, proof, body });
    try {
      await verifier.verify({
        proof: req.headers.dpop,
        method: req.method!,
        url: base + req.url,
        accessToken: /^(?:DPoP|Bearer) (\S+)$/i.exec(req.headers.authorization ?? '')?.[1],
      });
    } catch (error) {
      const code = error instanceof DPoPError ? error.code : 'unknown';
      return sendJson(
        res,
        401,
        { type: 'dpop-invalid', code },
        {
          'WWW-Authenticate': 'DPoP error="invalid_dpop_proof", algs="EdDSA ES256 RS256"',
        },
      );
    }
    const required = options.nonce();
    if (proof.nonce !== required) {
      const nonceHeader: Record<string, string> = options.withoutNonceHeader
        ? {}
        : { 'DPoP-Nonce': required };
      if (options.challenge === '401') {
        // RFC 9449 §9: a resource server's challenge.
        return sendJson(
          res,
          401,
          { type: 'about:blank', title: 'Nonce required' },
          {
            'WWW-Authenticate':
              'DPoP error="use_dpop_nonce", ' +
              'error_description="Resource server requires nonce in DPoP proof", algs="EdDSA ES256"',
            ...nonceHeader,
          },
        );
      }
      // RFC 9449 §8: an authorization server's error response.
      const error = {
        error: 'use_dpop_nonce',
        error_description: 'Authorization server requires nonce in DPoP proof',
      };
      return sendJson(res, 400, error, { 'Cache-Control': 'no-store', ...nonceHeader });
    }
    const next = options.nextNonce?.();
    sendJson(res, 200, { ok: true, echo: body }, next === undefined ? {} : { 'DPoP-Nonce': next });
  });
  base = server.url;
  return Object.assign(server, { hits });
}

let generator: DPoPGenerator;
const servers: TestServer[] = [];
beforeAll(async () => {
  generator = await DPoPGenerator.generate('ES256');
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function track<T extends TestServer>(server: Promise<T>): Promise<T> {
  const s = await server;
  servers.push(s);
  return s;
}

describe.each<Challenge>(['401', '400'])('nonce challenge as %s', (challenge) => {
  it('retries once with the nonce, with a fresh proof, and re-sends the body', async () => {
    const server = await track(nonceServer({ challenge, nonce: () => 'n1' }));
    const dpopFetch = createDPoPFetch(generator);

    const res = await dpopFetch(`${server.url}/token?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant: 'x' }),
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, echo: '{"grant":"x"}' });
    expect(server.hits).toHaveLength(2);
    const [first, second] = server.hits as [Hit, Hit];
    expect(first.proof).not.toHaveProperty('nonce');
    expect(second.proof.nonce).toBe('n1');
    expect(second.proof.jti).not.toBe(first.proof.jti);
    expect(second.proof.htu).toBe(`${server.url}/token`);
    expect(second.body).toBe('{"grant":"x"}');
  });

  it('remembers the nonce for later requests to the same origin', async () => {
    const server = await track(nonceServer({ challenge, nonce: () => 'n1' }));
    const dpopFetch = createDPoPFetch(generator);
    await dpopFetch(`${server.url}/a`);
    const res = await dpopFetch(`${server.url}/b`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(server.hits.map((h) => [h.method, h.path, h.proof.nonce])).toEqual([
      ['GET', '/a', undefined],
      ['GET', '/a', 'n1'],
      ['DELETE', '/b', 'n1'],
    ]);
  });

  it('does not retry a second time when the server keeps refusing', async () => {
    let n = 0;
    const server = await track(nonceServer({ challenge, nonce: () => `rotating-${n++}` }));
    const res = await createDPoPFetch(generator)(`${server.url}/x`);
    expect(res.status).toBe(Number(challenge));
    expect(await isNonceChallenge(res)).toBe(true);
    expect(server.hits).toHaveLength(2);
  });

  it('does not retry without a DPoP-Nonce header to retry with', async () => {
    const server = await track(
      nonceServer({ challenge, nonce: () => 'n1', withoutNonceHeader: true }),
    );
    const res = await createDPoPFetch(generator)(`${server.url}/x`);
    expect(res.status).toBe(Number(challenge));
    expect(server.hits).toHaveLength(1);
  });
});

describe('createDPoPFetch', () => {
  it('takes a new nonce from any answer and uses it next (rotation)', async () => {
    let current = 'n1';
    const server = await track(
      nonceServer({
        challenge: '401',
        nonce: () => current,
        nextNonce: () => (current = current === 'n1' ? 'n2' : 'n3'),
      }),
    );
    const dpopFetch = createDPoPFetch(generator);
    // Challenged, retried with n1, and n2 handed out with the 200.
    expect((await dpopFetch(`${server.url}/a`)).status).toBe(200);
    expect((await dpopFetch(`${server.url}/b`)).status).toBe(200); // n2 → n3 issued
    expect(server.hits.map((h) => h.proof.nonce)).toEqual([undefined, 'n1', 'n2']);
  });

  it('keeps nonces per origin', async () => {
    const a = await track(nonceServer({ challenge: '401', nonce: () => 'for-a' }));
    const b = await track(nonceServer({ challenge: '401', nonce: () => 'for-b' }));
    const nonces = new DPoPNonceStore();
    const dpopFetch = createDPoPFetch(generator, { nonces });
    await dpopFetch(`${a.url}/x`);
    expect(nonces.get(`${a.url}/anything`)).toBe('for-a');
    expect(nonces.get(b.url)).toBeUndefined();
    await dpopFetch(`${b.url}/x`);
    expect(b.hits.map((h) => h.proof.nonce)).toEqual([undefined, 'for-b']);
    expect(nonces.get(a.url)).toBe('for-a');
  });

  it('sends the token as DPoP by default, as Bearer when told, and hashes it as ath', async () => {
    const server = await track(nonceServer({ challenge: '401', nonce: () => 'n' }));
    const dpopFetch = createDPoPFetch(generator);
    const ath = createHash('sha256').update('tok.en-1').digest('base64url');
    await dpopFetch(`${server.url}/x`, { accessToken: 'tok.en-1' });
    await dpopFetch(`${server.url}/y`, { accessToken: 'tok.en-1', tokenType: 'Bearer' });
    await dpopFetch(`${server.url}/z`, { headers: { Authorization: 'Bearer tok.en-1' } });
    expect(server.hits.map((h) => [h.path, h.authorization, h.proof.ath])).toEqual([
      ['/x', 'DPoP tok.en-1', ath],
      ['/x', 'DPoP tok.en-1', ath],
      ['/y', 'Bearer tok.en-1', ath],
      ['/z', 'Bearer tok.en-1', ath],
    ]);
  });

  it('does not retry other DPoP errors', async () => {
    const server = await track(
      listen((_req, res) =>
        sendJson(
          res,
          401,
          { type: 'dpop-invalid' },
          {
            'WWW-Authenticate': 'DPoP error="invalid_dpop_proof", algs="ES256"',
            'DPoP-Nonce': 'n1',
          },
        ),
      ),
    );
    const hits: string[] = [];
    server.server.on('request', (req: IncomingMessage) => hits.push(req.url!));
    const res = await createDPoPFetch(generator)(`${server.url}/x`);
    expect(res.status).toBe(401);
    expect(hits).toEqual(['/x']);
  });

  it('does not retry a streamed body, which cannot be sent twice', async () => {
    const server = await track(nonceServer({ challenge: '401', nonce: () => 'n1' }));
    const res = await createDPoPFetch(generator)(`${server.url}/x`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed'));
          controller.close();
        },
      }),
      duplex: 'half',
    });
    expect(res.status).toBe(401);
    expect(server.hits).toHaveLength(1);
  });

  it('does not follow redirects by default (a proof names one URL)', async () => {
    const server = await track(
      listen((_req, res) => {
        res.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' });
        res.end();
      }),
    );
    const res = await createDPoPFetch(generator)(`${server.url}/x`, { accessToken: 't' });
    expect(res.status).toBe(302);
  });
});
