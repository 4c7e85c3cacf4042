// jose 6 is an ES module only: the CommonJS build's declarations name it as one (TS1541).
import type * as JoseModule from 'jose' with { 'resolution-mode': 'import' };

/** The `jose` module. */
export type Jose = typeof JoseModule;

let pending: Promise<Jose> | undefined;

/**
 * Loads `jose` at the first access token to verify, not when the library loads. `jose` 6 is an ES
 * module only: an app that does not verify access tokens never loads it, so the CommonJS build
 * still runs where `require()` of ES modules is missing (Jest's CommonJS runtime on Node 20, the
 * setup `nest new` makes for Nest 11). Verifying access tokens needs ESM or `require(esm)`
 * (Node >= 20.19 outside Jest).
 */
export function loadJose(): Promise<Jose> {
  return (pending ??= import('jose'));
}

/**
 * The stable `code` of each `jose` error class the verifier tells apart (jose's documented codes;
 * jose.loader.spec.ts pins them against jose's classes). Compared by code, not `instanceof`,
 * because the classes exist only once `jose` is loaded.
 */
export const JOSE_ERROR_CODES = {
  JWTExpired: 'ERR_JWT_EXPIRED',
  JWTClaimValidationFailed: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  JWSSignatureVerificationFailed: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  JWKSNoMatchingKey: 'ERR_JWKS_NO_MATCHING_KEY',
  JWKSMultipleMatchingKeys: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  JOSEAlgNotAllowed: 'ERR_JOSE_ALG_NOT_ALLOWED',
  JOSENotSupported: 'ERR_JOSE_NOT_SUPPORTED',
  JWSInvalid: 'ERR_JWS_INVALID',
  JWTInvalid: 'ERR_JWT_INVALID',
  JWKInvalid: 'ERR_JWK_INVALID',
} as const satisfies Record<string, string>;
