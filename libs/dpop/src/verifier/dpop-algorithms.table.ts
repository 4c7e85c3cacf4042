/**
 * The DPoP proof algorithms and public key shapes. Pure data and types with no imports. Both
 * packages carry this same file (each package holds only itself); a repository test
 * (`test/ops/algorithm-tables.spec.ts`) fails when the two copies differ.
 *
 * Every asymmetric JWS algorithm `node:crypto` verifies: RFC 7518 §3 (`ES*`, `RS*`, `PS*`),
 * RFC 8037 (`EdDSA`) and RFC 9864's fully-specified `Ed25519` / `Ed448`. Symmetric (`HS*`) and
 * `none` are absent on purpose (RFC 9449 §5 asks for asymmetric algorithms only).
 */

/** Every proof `alg` that can be enabled, in the order the docs list them. */
export const DPOP_ALGORITHMS = [
  'EdDSA',
  'Ed25519',
  'Ed448',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;

/** A name in `DPOP_ALGORITHMS` (in nest-dpop's door: `SUPPORTED_DPOP_ALGORITHMS`). */
export type DPoPAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/**
 * Accepted when nothing is configured: the ARCP spec's `EdDSA, ES256, RS256`, plus `Ed25519`
 * (RFC 9864's name for the same signatures, which panva's `dpop` and `oauth4webapi` send).
 */
export const DEFAULT_DPOP_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'RS256'] as const;

/** The JWK curve names used by DPoP keys. */
export type DPoPCurve = 'Ed25519' | 'Ed448' | 'P-256' | 'P-384' | 'P-521';

/** What an algorithm needs from its key and how its signature is computed. */
export interface DPoPAlgorithmSpec {
  /** The JWK `kty` of its keys. */
  readonly kty: 'OKP' | 'EC' | 'RSA';
  /** The JWK `crv` its keys must have (OKP and EC only). */
  readonly crv?: DPoPCurve;
  /** The `node:crypto` digest name; `null` for EdDSA, which hashes internally. */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** RSA padding: PKCS#1 v1.5 (`RS*`) or PSS with salt length = hash length (`PS*`, RFC 7518 §3.5). */
  readonly padding?: 'pkcs1' | 'pss';
  /** Bytes of each coordinate (`x`, and `y` for EC); the signature is twice that for EC. */
  readonly coordinateLength?: number;
  /** Exact signature length in bytes, when fixed by the algorithm (RSA: the modulus length). */
  readonly signatureLength?: number;
}

/** The table both packages read: one row per algorithm. */
export const DPOP_ALGORITHM_SPECS: Readonly<Record<DPoPAlgorithm, DPoPAlgorithmSpec>> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', hash: null, coordinateLength: 32, signatureLength: 64 },
  Ed25519: { kty: 'OKP', crv: 'Ed25519', hash: null, coordinateLength: 32, signatureLength: 64 },
  Ed448: { kty: 'OKP', crv: 'Ed448', hash: null, coordinateLength: 57, signatureLength: 114 },
  ES256: { kty: 'EC', crv: 'P-256', hash: 'sha256', coordinateLength: 32, signatureLength: 64 },
  ES384: { kty: 'EC', crv: 'P-384', hash: 'sha384', coordinateLength: 48, signatureLength: 96 },
  ES512: { kty: 'EC', crv: 'P-521', hash: 'sha512', coordinateLength: 66, signatureLength: 132 },
  RS256: { kty: 'RSA', hash: 'sha256', padding: 'pkcs1' },
  RS384: { kty: 'RSA', hash: 'sha384', padding: 'pkcs1' },
  RS512: { kty: 'RSA', hash: 'sha512', padding: 'pkcs1' },
  PS256: { kty: 'RSA', hash: 'sha256', padding: 'pss' },
  PS384: { kty: 'RSA', hash: 'sha384', padding: 'pss' },
  PS512: { kty: 'RSA', hash: 'sha512', padding: 'pss' },
};

/** Bytes of each digest: the RSA-PSS salt length (RFC 7518 §3.5). */
export const DPOP_HASH_LENGTHS = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** The smallest and largest RSA modulus accepted, in bits. */
export const DPOP_RSA_BITS = { min: 2048, max: 8192 } as const;

/** The public key of a proof: exactly its RFC 7638 required members. */
export type DPoPPublicJwk =
  | { kty: 'OKP'; crv: 'Ed25519' | 'Ed448'; x: string }
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521'; x: string; y: string }
  | { kty: 'RSA'; n: string; e: string };

/**
 * The RFC 7638 §3.2 thumbprint input of a public JWK: its required members only, in
 * lexicographic order, no white space. SHA-256 of it, base64url, is the `jkt`.
 */
export function thumbprintInput(jwk: DPoPPublicJwk): string {
  switch (jwk.kty) {
    case 'OKP':
      return `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
    case 'EC':
      return `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
    case 'RSA':
      return `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`;
  }
}

/** Whether `alg` is one of the names in `DPOP_ALGORITHMS`. */
export function isDPoPAlgorithm(alg: unknown): alg is DPoPAlgorithm {
  return typeof alg === 'string' && Object.hasOwn(DPOP_ALGORITHM_SPECS, alg);
}
