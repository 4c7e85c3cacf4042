/**
 * Proof fixtures for the library's specs and the repository's tests (test/support/proofs.ts
 * re-exports this file: one source): real keys (made with `jose`, an independent
 * implementation) and proofs signed exactly as RFC 9449 §4.2 describes, or broken on purpose.
 * Spec-only (`*.fixture.ts` is left out of the package builds, like `*.spec.ts`).
 */
import {
  constants,
  createHash,
  generateKeyPairSync,
  KeyObject,
  randomUUID,
  sign,
} from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import {
  DEFAULT_DPOP_ALGORITHMS,
  DPOP_ALGORITHMS,
  type DPoPAlgorithm,
} from '../verifier/dpop-algorithms.table.js';

// The signing parameters of each algorithm (RFC 7518 §3, RFC 8037, RFC 9864), written out here
// rather than read from the library's table, so that these proofs are made independently of it
// (a wrong hash or padding in the table must fail the specs, not be copied into the proofs).
type Hash = 'sha256' | 'sha384' | 'sha512';
const SIGNING: Record<DPoPAlgorithm, { kty: 'OKP' | 'EC' | 'RSA'; hash?: Hash; pss?: true }> = {
  EdDSA: { kty: 'OKP' },
  Ed25519: { kty: 'OKP' },
  Ed448: { kty: 'OKP' },
  ES256: { kty: 'EC', hash: 'sha256' },
  ES384: { kty: 'EC', hash: 'sha384' },
  ES512: { kty: 'EC', hash: 'sha512' },
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
  PS384: { kty: 'RSA', hash: 'sha384', pss: true },
  PS512: { kty: 'RSA', hash: 'sha512', pss: true },
};
const HASH_LENGTHS: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** The proof algorithms the spec names, which most suites exercise. */
export const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;
/** Every algorithm the library can verify (the default set and the opt-in ones). */
export const ALL_ALGORITHMS = DPOP_ALGORITHMS;
/** The opt-in ones (not in the default set). */
export const OPT_IN_ALGORITHMS = DPOP_ALGORITHMS.filter(
  (alg) => !(DEFAULT_DPOP_ALGORITHMS as readonly string[]).includes(alg),
);
export type TestAlgorithm = DPoPAlgorithm;

/** A real key pair, made with `jose`, that signs proofs the way an independent client would. */
export interface TestKey {
  alg: TestAlgorithm;
  /** A jose-made CryptoKey, or a node KeyObject for keys jose will not make. */
  privateKey: CryptoKey | KeyObject;
  publicJwk: JWK;
  jkt: string;
}

/** A test key around a key pair `node:crypto` made (for keys `jose` will not make). */
async function nodeKey(
  alg: TestAlgorithm,
  pair: { publicKey: KeyObject; privateKey: KeyObject },
): Promise<TestKey> {
  const publicJwk = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { alg, privateKey: pair.privateKey, publicJwk, jkt };
}

export async function makeKey(alg: TestAlgorithm, modulusLength = 2048): Promise<TestKey> {
  // jose 6 has no Ed448: node:crypto makes the key, and makeProof signs with signRaw.
  if (alg === 'Ed448') return nodeKey(alg, generateKeyPairSync('ed448'));
  if (SIGNING[alg].kty === 'RSA' && modulusLength < 2048) {
    // jose refuses to make weak RSA keys; node:crypto makes the attacker's one for the tests.
    return nodeKey(alg, generateKeyPairSync('rsa', { modulusLength }));
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(SIGNING[alg].kty === 'RSA' && { modulusLength }),
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
  if (key.alg === 'Ed448') return signRaw(key, header, payload);
  return new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
}

/** Base64url of a JSON value or of raw text. */
export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

/**
 * Signs any header and payload with the test key, bypassing `jose`'s own checks, so that tests can
 * build proofs `jose` would refuse to make (wrong typ, private members in the jwk, …).
 */
export function signRaw(key: TestKey, header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const privateKey =
    key.privateKey instanceof KeyObject ? key.privateKey : KeyObject.from(key.privateKey);
  const spec = SIGNING[key.alg];
  const signingKey =
    spec.kty === 'EC'
      ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
      : spec.pss
        ? {
            key: privateKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: HASH_LENGTHS[spec.hash ?? 'sha256'],
          }
        : privateKey;
  const signature = sign(spec.hash ?? null, Buffer.from(input), signingKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** A standard valid payload for a request. */
export function claimsFor(
  htm: string,
  htu: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...extra };
}
