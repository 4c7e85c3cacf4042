/**
 * Domain errors of the DPoP core, with stable string codes (in the manner of `jose`'s errors).
 *
 * These carry no HTTP: `http/dpop.exception.ts` maps them to RFC 7807 problems (status, problem
 * slug, challenge) in exactly one place. Tests and callers should branch on `code`, never on
 * `message`.
 */

/** Every stable error code the verifier, the request policy and the guard can produce. */
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
  | 'ERR_DPOP_TOKEN_BINDING_INVALID'
  | 'ERR_DPOP_TOKEN_BINDING_UNAVAILABLE'
  | 'ERR_DPOP_INVALID_AUTHORIZATION'
  | 'ERR_DPOP_SCHEME_MISMATCH'
  | 'ERR_DPOP_STORE_UNAVAILABLE'
  /** Too many new proofs from one client or key (`proofBudget`): 429 with `Retry-After`. */
  | 'ERR_DPOP_RATE_LIMITED'
  | 'ERR_DPOP_UNSUPPORTED_CONTEXT'
  | 'ERR_DPOP_MULTIPLE_HOSTS'
  | 'ERR_DPOP_TOKEN_INVALID'
  | 'ERR_DPOP_TOKEN_EXPIRED'
  | 'ERR_DPOP_TOKEN_REQUIRED'
  | 'ERR_DPOP_INSUFFICIENT_SCOPE'
  | 'ERR_DPOP_ISSUER_UNAVAILABLE';

/**
 * The claims a refusal can name, see {@link DPoPError.claim}: the proof's (RFC 9449 §4.2), and
 * an access token's `aud` (with the `accessToken` option).
 */
export type DPoPClaim = 'jti' | 'htm' | 'htu' | 'iat' | 'ath' | 'nonce' | 'aud';

/**
 * A refused DPoP proof or token binding. `code` is stable; `message` is the human detail that
 * becomes the problem's `detail` (it never echoes attacker-controlled input).
 */
export class DPoPError extends Error {
  /** The class's own name (`DPoPError`, `JtiStoreUnavailableError`, …), as `jose` reports it. */
  override readonly name: string = 'DPoPError';
  /**
   * Which proof claim failed, when the refusal is about one (`htm` for `ERR_DPOP_HTM_MISMATCH`,
   * `iat` for `ERR_DPOP_EXPIRED`, the malformed one for `ERR_DPOP_INVALID_CLAIM`, …); `aud`
   * for `ERR_DPOP_TOKEN_INVALID` when a verified access token (signature, issuer and expiry good)
   * is meant for another audience; `undefined` for refusals of the structure, the signature, the
   * token or the request.
   */
  readonly claim?: DPoPClaim;
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
    if (options?.claim !== undefined) this.claim = options.claim;
    if (options?.nonce !== undefined) this.nonce = options.nonce;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options?.scope !== undefined) this.scope = options.scope;
  }
}

/** Options of {@link DPoPError}. */
export interface DPoPErrorOptions {
  cause?: unknown;
  /** See {@link DPoPError.claim}. */
  claim?: DPoPClaim;
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
  override readonly name: string = 'JtiStoreUnavailableError';

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
  override readonly name: string = 'JtiStoreNonceRequiredError';
  declare readonly nonce: string;
  declare readonly retryAfter: number;

  constructor(
    nonce: string,
    retryAfter: number,
    message = 'DPoP replay history was reset (a recovery window, see Retry-After)' +
      NONCE_RETRY_HINT,
  ) {
    super('ERR_DPOP_USE_NONCE', message, { nonce, retryAfter, claim: 'nonce' });
  }
}

/**
 * What a `resolveTokenBinding` throws when the service it asks (an introspection endpoint, a
 * token database) cannot answer now: the request is refused with 503 and `Retry-After`
 * (`ERR_DPOP_TOKEN_BINDING_UNAVAILABLE`), never let through. Any other error a resolver throws
 * refuses the token instead (401 `invalid_token`, `ERR_DPOP_TOKEN_BINDING_INVALID`): the library
 * cannot tell an outage from a bad token unless the resolver says so.
 *
 * @example
 * ```ts
 * resolveTokenBinding: async (token) => {
 *   const answer = await fetch(introspectionUrl, { method: 'POST', body: … }).catch((cause) => {
 *     throw new TokenBindingUnavailableError('Introspection is down', { cause, retryAfter: 5 });
 *   });
 *   …
 * }
 * ```
 */
export class TokenBindingUnavailableError extends DPoPError {
  override readonly name: string = 'TokenBindingUnavailableError';

  constructor(
    message = 'DPoP token binding could not be read; try again later',
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super('ERR_DPOP_TOKEN_BINDING_UNAVAILABLE', message, options);
  }
}

/** Shorthand for an `ERR_DPOP_*` error whose detail follows the spec's "validation failed" form. */
export function invalidProofError(
  code: DPoPErrorCode,
  reason: string,
  claim?: DPoPClaim,
): DPoPError {
  return new DPoPError(
    code,
    `DPoP proof validation failed: ${reason}`,
    claim === undefined ? undefined : { claim },
  );
}
