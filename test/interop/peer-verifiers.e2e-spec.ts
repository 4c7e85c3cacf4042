import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  calculateJwkThumbprint,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import * as oauth from 'oauth4webapi';
import {
  createDPoPFetch,
  DPOP_CLIENT_ALGORITHMS,
  DPoPGenerator,
  type DPoPClientAlgorithm,
} from 'nest-dpop-client';
import { startSoftHsm, type SoftHsm } from './support/softhsm.js';

/**
 * Our client's proofs, verified by code nobody here wrote: jose (`jwtVerify` with
 * `EmbeddedJWK`, plus the RFC 9449 §4.3 claim checks a resource server adds), auth0's
 * `express-oauth2-jwt-bearer` in a real Express app over HTTP, and oauth4webapi's
 * resource-server `validateJwtAccessToken`. The proofs come from `DPoPGenerator` (non-extractable
 * WebCrypto keys, as `generate()` makes them, and keys inside a SoftHSM2 token through PKCS#11)
 * and, for the HTTP ones, from `createDPoPFetch`, which sends `Authorization: DPoP` with them.
 */

const ISSUER = 'https://as.example.com';
const AUDIENCE = 'https://rs.example.com';
/** jose 6 (and so auth0's verifier, built on it) has no Ed448. */
const JOSE_ALGS = DPOP_CLIENT_ALGORITHMS.filter((alg) => alg !== 'Ed448');
/** What auth0's verifier takes for proofs, as measured: RFC 9864's `Ed25519` name it does not. */
const AUTH0_REFUSES = new Set<string>(['Ed25519', 'Ed448']);

const generators = {} as Record<DPoPClientAlgorithm, DPoPGenerator>;
/** Keys that never leave a PKCS#11 token. */
const HSM_ALGS = ['ES256', 'EdDSA'] as const;
let hsm: SoftHsm;
let asKey: CryptoKey;
let asJwk: JWK;
beforeAll(async () => {
  for (const alg of DPOP_CLIENT_ALGORITHMS) generators[alg] = await DPoPGenerator.generate(alg);
  hsm = await startSoftHsm();
  const pair = await generateKeyPair('ES256', { extractable: true });
  asKey = pair.privateKey;
  asJwk = { ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'as-key', use: 'sig' };
});

afterAll(() => {
  hsm?.close();
});

/** An RFC 9068 access token bound to `jkt`, as an authorization server would issue it. */
function accessToken(jkt: string): Promise<string> {
  return new SignJWT({ cnf: { jkt }, client_id: 'agent', scope: 'read' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'as-key' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('agent')
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(asKey);
}

describe.each(JOSE_ALGS)('jose jwtVerify + EmbeddedJWK, %s', (alg) => {
  it('verifies the signature, typ and alg, and every claim a resource server checks', async () => {
    const generator = generators[alg];
    const token = await accessToken(generator.jkt);
    const url = `${AUDIENCE}/resource`;
    const before = Math.floor(Date.now() / 1000);
    const proof = await generator.createProof({
      method: 'GET',
      url: `${url}?page=2#top`,
      accessToken: token,
    });
    const { protectedHeader, payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [alg],
      maxTokenAge: '60s',
    });
    expect(Object.keys(protectedHeader).sort()).toEqual(['alg', 'jwk', 'typ']);
    expect(protectedHeader.jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint(protectedHeader.jwk!)).toBe(generator.jkt);
    expect(payload).toEqual({
      jti: expect.stringMatching(/^.{16,}$/),
      htm: 'GET',
      htu: url,
      iat: expect.any(Number),
      ath: createHash('sha256').update(token).digest('base64url'),
    });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
  });
});

describe("auth0's express-oauth2-jwt-bearer, with DPoP required", () => {
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    // Express and the auth0 middleware are CommonJS with no types of their own here.
    const require = createRequire(import.meta.url);
    const express = require('express') as (() => ExpressApp) & { json: () => unknown };
    const { auth } = require('express-oauth2-jwt-bearer') as { auth: (o: object) => unknown };
    const app = express();
    app.use(
      auth({
        issuer: ISSUER,
        audience: AUDIENCE,
        publicKey: asJwk,
        tokenSigningAlg: 'ES256',
        dpop: { enabled: true, required: true },
      }),
    );
    app.get('/resource', (req: { auth: { payload: unknown } }, res: { json(b: unknown): void }) =>
      res.json({ payload: req.auth.payload }),
    );
    app.use(
      (
        err: { status?: number; code?: string; message: string },
        _req: unknown,
        res: ExpressResponse,
        _next: unknown,
      ) => {
        res.status(err.status ?? 500).json({ code: err.code, message: err.message });
      },
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  });
  afterAll(async () => {
    await close?.();
  });

  it.each(DPOP_CLIENT_ALGORITHMS)('%s', async (alg) => {
    const generator = generators[alg];
    const token = await accessToken(generator.jkt);
    const dpopFetch = createDPoPFetch(generator);
    const res = await dpopFetch(`${base}/resource?x=1`, { accessToken: token, tokenType: 'DPoP' });
    const body = (await res.json()) as Record<string, unknown>;
    if (AUTH0_REFUSES.has(alg)) {
      // Its proof algorithm list has EdDSA but not RFC 9864's names (measured, not wished).
      expect({ status: res.status, body }).toEqual({
        status: 400,
        body: {
          code: 'invalid_dpop_proof',
          message: '"alg" (Algorithm) Header Parameter not allowed',
        },
      });
    } else {
      expect({ status: res.status, body }).toEqual({
        status: 200,
        body: { payload: expect.objectContaining({ cnf: { jkt: generator.jkt } }) },
      });
    }
  });

  it.each(HSM_ALGS)('a SoftHSM2 %s key (PKCS#11)', async (alg) => {
    const generator = hsm.generators[alg];
    const token = await accessToken(generator.jkt);
    const res = await createDPoPFetch(generator)(`${base}/resource?x=1`, { accessToken: token });
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 200,
      body: { payload: expect.objectContaining({ cnf: { jkt: generator.jkt } }) },
    });
  });
});

describe("oauth4webapi's resource-server validateJwtAccessToken", () => {
  it.each([
    ...JOSE_ALGS.map((alg) => [alg, alg, 'WebCrypto, non-extractable'] as const),
    ...HSM_ALGS.map((alg) => [`${alg} in SoftHSM2`, alg, 'SoftHSM2'] as const),
  ])('%s', async (_name, alg, where) => {
    const generator = where === 'SoftHSM2' ? hsm.generators[alg as 'ES256'] : generators[alg];
    const token = await accessToken(generator.jkt);
    const url = `${AUDIENCE}/resource`;
    const proof = await generator.createProof({
      method: 'GET',
      url: `${url}?x=1`,
      accessToken: token,
    });
    const request = new Request(`${url}?x=1`, {
      headers: { authorization: `DPoP ${token}`, dpop: proof },
    });
    const claims = await oauth.validateJwtAccessToken(
      { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` },
      request,
      AUDIENCE,
      {
        requireDPoP: true,
        // Applies to the access token and the proof alike.
        signingAlgorithms: ['ES256', alg],
        [oauth.customFetch]: async () => Response.json({ keys: [asJwk] }),
      },
    );
    expect(claims.cnf).toEqual({ jkt: generator.jkt });
  });
});

interface ExpressResponse {
  status(code: number): ExpressResponse;
  json(body: unknown): void;
}
interface ExpressApp {
  use(handler: unknown): void;
  get(path: string, handler: unknown): void;
  listen(port: number, host: string): import('node:http').Server;
}
