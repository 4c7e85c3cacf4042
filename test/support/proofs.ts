import { randomUUID, createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

/** The proof algorithms the test suites exercise. */
export const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;
export type TestAlgorithm = (typeof ALGORITHMS)[number];

/** A real key pair, made with `jose`, that signs proofs the way an independent client would. */
export interface TestKey {
  alg: TestAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
}

export async function makeKey(alg: TestAlgorithm, modulusLength = 2048): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' && { modulusLength }),
    ...(alg === 'EdDSA' && { crv: 'Ed25519' }),
  });
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export function ath(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export interface ProofSpec {
  htm: string;
  htu: string;
  accessToken?: string;
  /** Overrides or additions to the payload (set a claim to `undefined` to drop it). */
  claims?: Record<string, unknown>;
  /** Overrides or additions to the protected header. */
  header?: Record<string, unknown>;
  iat?: number;
}

/** Signs a DPoP proof with `jose`, by default exactly as RFC 9449 §4.2 describes. */
export async function makeProof(key: TestKey, spec: ProofSpec): Promise<string> {
  const payload: JWTPayload = {
    jti: randomUUID(),
    htm: spec.htm,
    htu: spec.htu,
    iat: spec.iat ?? Math.floor(Date.now() / 1000),
    ...(spec.accessToken !== undefined && { ath: ath(spec.accessToken) }),
    ...spec.claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...spec.header };
  return new SignJWT(payload).setProtectedHeader(header as never).sign(key.privateKey);
}
