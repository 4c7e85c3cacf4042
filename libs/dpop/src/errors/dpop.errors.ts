/**
 * Domain errors of the DPoP core, with stable string codes (in the manner of `jose`'s errors).
 *
 * These carry no HTTP: `dpop.exception.ts` maps them to RFC 7807 problems in exactly one place.
 * Tests and callers should branch on `code`, never on `message`.
 */

/** The RFC 7807 problem slugs used by this library (appended to the configured problem base URI). */
export type DPoPProblemSlug =
  | 'dpop-required'
  | 'dpop-invalid'
  | 'dpop-binding-mismatch'
  | 'token-not-dpop-bound'
  | 'dpop-nonce-required'
  | 'invalid-request'
  | 'dpop-store-unavailable'
  | 'invalid-host'
  | 'invalid-token'
  | 'token-required'
  | 'insufficient-scope'
  | 'issuer-unavailable';

/** Every stable error code the verifier and guard can produce. */
export type DPoPErrorCode =
  | 'ERR_DPOP_MISSING'
  | 'ERR_DPOP_MULTIPLE_HEADERS'
  | 'ERR_DPOP_TOO_LARGE'
  | 'ERR_DPOP_MALFORMED'
  | 'ERR_DPOP_INVALID_TYP'
  | 'ERR_DPOP_UNSUPPORTED_ALG'
  | 'ERR_DPOP_INVALID_JWK'
  | 'ERR_DPOP_INVALID_SIGNATURE'
  | 'ERR_DPOP_INVALID_CLAIM'
  | 'ERR_DPOP_HTM_MISMATCH'
  | 'ERR_DPOP_HTU_MISMATCH'
  | 'ERR_DPOP_EXPIRED'
  | 'ERR_DPOP_IAT_IN_FUTURE'
  | 'ERR_DPOP_ATH_MISSING'
  | 'ERR_DPOP_ATH_MISMATCH'
  | 'ERR_DPOP_REPLAY'
  | 'ERR_DPOP_USE_NONCE'
  | 'ERR_DPOP_BINDING_MISMATCH'
  | 'ERR_DPOP_TOKEN_NOT_BOUND'
  | 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF'
  | 'ERR_DPOP_INVALID_AUTHORIZATION'
  | 'ERR_DPOP_SCHEME_MISMATCH'
  | 'ERR_DPOP_STORE_UNAVAILABLE'
  | 'ERR_DPOP_UNSUPPORTED_CONTEXT'
  | 'ERR_DPOP_MULTIPLE_HOSTS'
  | 'ERR_DPOP_TOKEN_INVALID'
  | 'ERR_DPOP_TOKEN_EXPIRED'
  | 'ERR_DPOP_TOKEN_REQUIRED'
  | 'ERR_DPOP_INSUFFICIENT_SCOPE'
  | 'ERR_DPOP_ISSUER_UNAVAILABLE';

/** What each code means on the wire: problem slug, HTTP status and `WWW-Authenticate` error. */
interface CodeInfo {
  readonly slug: DPoPProblemSlug;
  readonly status: 400 | 401 | 403 | 503;
  /** RFC 9449 §7.1 / RFC 6750 §3.1 error code; `undefined` = challenge without an error. */
  readonly challenge:
    | 'invalid_dpop_proof'
    | 'invalid_token'
    | 'invalid_request'
    | 'use_dpop_nonce'
    | 'insufficient_scope'
    | undefined;
}

const invalidProof: CodeInfo = {
  slug: 'dpop-invalid',
  status: 401,
  challenge: 'invalid_dpop_proof',
};

/** The one table from code to wire behaviour; `dpop.exception.ts` reads it. */
export const DPOP_ERROR_INFO: Readonly<Record<DPoPErrorCode, CodeInfo>> = {
  // No credentials at all: RFC 6750 §3.1 says a challenge without an error code.
  ERR_DPOP_MISSING: { slug: 'dpop-required', status: 401, challenge: undefined },
  ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF: {
    slug: 'dpop-required',
    status: 401,
    challenge: 'invalid_dpop_proof',
  },
  ERR_DPOP_MULTIPLE_HEADERS: invalidProof,
  ERR_DPOP_TOO_LARGE: invalidProof,
  ERR_DPOP_MALFORMED: invalidProof,
  ERR_DPOP_INVALID_TYP: invalidProof,
  ERR_DPOP_UNSUPPORTED_ALG: invalidProof,
  ERR_DPOP_INVALID_JWK: invalidProof,
  ERR_DPOP_INVALID_SIGNATURE: invalidProof,
  ERR_DPOP_INVALID_CLAIM: invalidProof,
  ERR_DPOP_HTM_MISMATCH: invalidProof,
  ERR_DPOP_HTU_MISMATCH: invalidProof,
  ERR_DPOP_EXPIRED: invalidProof,
  ERR_DPOP_IAT_IN_FUTURE: invalidProof,
  ERR_DPOP_ATH_MISSING: invalidProof,
  ERR_DPOP_ATH_MISMATCH: invalidProof,
  ERR_DPOP_REPLAY: invalidProof,
  // RFC 9449 §8: the answer carries a fresh DPoP-Nonce for the client's retry.
  ERR_DPOP_USE_NONCE: { slug: 'dpop-nonce-required', status: 401, challenge: 'use_dpop_nonce' },
  ERR_DPOP_BINDING_MISMATCH: {
    slug: 'dpop-binding-mismatch',
    status: 401,
    challenge: 'invalid_token',
  },
  ERR_DPOP_TOKEN_NOT_BOUND: {
    slug: 'token-not-dpop-bound',
    status: 401,
    challenge: 'invalid_token',
  },
  // RFC 6750 §3.1: a malformed credential is a bad request, not a bad token.
  ERR_DPOP_INVALID_AUTHORIZATION: {
    slug: 'invalid-request',
    status: 400,
    challenge: 'invalid_request',
  },
  ERR_DPOP_SCHEME_MISMATCH: { slug: 'dpop-invalid', status: 401, challenge: 'invalid_token' },
  // The replay store could not answer: fail closed, and tell the client it may retry.
  ERR_DPOP_STORE_UNAVAILABLE: { slug: 'dpop-store-unavailable', status: 503, challenge: undefined },
  // A context with no HTTP request (rpc, ws) on a bound or required route: nothing to check.
  ERR_DPOP_UNSUPPORTED_CONTEXT: { slug: 'dpop-required', status: 401, challenge: undefined },
  // RFC 9112 §3.2: a request with more than one Host header is answered 400.
  ERR_DPOP_MULTIPLE_HOSTS: { slug: 'invalid-host', status: 400, challenge: 'invalid_request' },
  // Access tokens verified by the library (accessToken option): RFC 6750 §3.1.
  ERR_DPOP_TOKEN_INVALID: { slug: 'invalid-token', status: 401, challenge: 'invalid_token' },
  ERR_DPOP_TOKEN_EXPIRED: { slug: 'invalid-token', status: 401, challenge: 'invalid_token' },
  // No token where one is needed (a route with required scopes): a challenge without an error.
  ERR_DPOP_TOKEN_REQUIRED: { slug: 'token-required', status: 401, challenge: undefined },
  ERR_DPOP_INSUFFICIENT_SCOPE: {
    slug: 'insufficient-scope',
    status: 403,
    challenge: 'insufficient_scope',
  },
  // The issuer's metadata, keys or introspection endpoint did not answer: fail closed.
  ERR_DPOP_ISSUER_UNAVAILABLE: { slug: 'issuer-unavailable', status: 503, challenge: undefined },
};

/**
 * A refused DPoP proof or token binding. `code` is stable; `message` is the human detail that
 * becomes the problem's `detail` (it never echoes attacker-controlled input).
 */
export class DPoPError extends Error {
  override readonly name = 'DPoPError';
  /**
   * The server nonce to hand out with this refusal (`DPoP-Nonce`), when it is not the module's
   * current one: e.g. the recovery nonce of a replay store that lost its history.
   */
  readonly nonce?: string;
  /** Seconds the client should wait before it tries again (`Retry-After`), when known. */
  readonly retryAfter?: number;
  /** The scopes a route needs (`insufficient_scope`, RFC 6750 §3), space separated. */
  readonly scope?: string;

  constructor(
    /** Stable machine-readable code, e.g. `ERR_DPOP_REPLAY`. */
    readonly code: DPoPErrorCode,
    message: string,
    options?: DPoPErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.nonce !== undefined) this.nonce = options.nonce;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options?.scope !== undefined) this.scope = options.scope;
  }
}

/** Options of {@link DPoPError}. */
export interface DPoPErrorOptions {
  cause?: unknown;
  /** See {@link DPoPError.nonce}. */
  nonce?: string;
  /** See {@link DPoPError.retryAfter}; whole seconds, at least 1. */
  retryAfter?: number;
  /** See {@link DPoPError.scope}. */
  scope?: string;
}

/**
 * The replay store could not record a jti (unreachable, timed out, full). The guard turns it
 * into a 503 with `Retry-After` (the error's `retryAfter`, else 1 second): a proof is never let
 * through unchecked.
 */
export class JtiStoreUnavailableError extends DPoPError {
  constructor(
    message = 'DPoP replay store unavailable; try again later',
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super('ERR_DPOP_STORE_UNAVAILABLE', message, options);
  }
}

/**
 * The end of every `use_dpop_nonce` problem's `detail`: what a client without nonce handling
 * (curl, a hand-made proof) does next.
 */
export const NONCE_RETRY_HINT =
  ': send the request again with a new proof whose nonce claim is the DPoP-Nonce header of ' +
  'this response';

/**
 * The replay store lost its history (a Redis restart without persistence, a flush, evictions)
 * and cannot tell whether this proof was used before the loss. A proof that carries a server
 * nonce handed out after the loss cannot have been, so the store asks for one (RFC 9449 §8):
 * the guard answers `401` with `WWW-Authenticate: DPoP error="use_dpop_nonce"` and this error's
 * `nonce` in `DPoP-Nonce`, and a conforming client retries at once with a fresh proof carrying
 * it. `retryAfter` says when a fresh proof without a nonce is accepted again.
 */
export class JtiStoreNonceRequiredError extends DPoPError {
  declare readonly nonce: string;
  declare readonly retryAfter: number;

  constructor(
    nonce: string,
    retryAfter: number,
    message = 'DPoP replay history was reset (a recovery window, see Retry-After)' +
      NONCE_RETRY_HINT,
  ) {
    super('ERR_DPOP_USE_NONCE', message, { nonce, retryAfter });
  }
}

/** Shorthand for an `ERR_DPOP_*` error whose detail follows the spec's "validation failed" form. */
export function invalidProofError(code: DPoPErrorCode, reason: string): DPoPError {
  return new DPoPError(code, `DPoP proof validation failed: ${reason}`);
}
