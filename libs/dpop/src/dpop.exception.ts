import { HttpException } from '@nestjs/common';
import { DPOP_ERROR_INFO, DPoPError } from './dpop.errors.js';
import type { DPoPNonceIssuer } from './dpop-nonce.issuer.js';

/** An RFC 7807 problem document as this library writes it. */
export interface DPoPProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request path. */
  instance?: string;
  /** The stable error code, e.g. `ERR_DPOP_REPLAY` (an RFC 7807 extension member). */
  code: string;
}

/** The OAuth error body of RFC 9449 §8 at a token endpoint: `{"error":"use_dpop_nonce"}`. */
export interface DPoPOAuthErrorBody {
  error: 'use_dpop_nonce';
  error_description: string;
}

const TITLES: Record<string, string> = {
  'dpop-required': 'DPoP Proof Required',
  'dpop-invalid': 'Invalid DPoP Proof',
  'dpop-binding-mismatch': 'DPoP Binding Mismatch',
  'token-not-dpop-bound': 'Token Not DPoP Bound',
  'dpop-nonce-required': 'DPoP Nonce Required',
  'invalid-request': 'Invalid Authorization Header',
  'dpop-store-unavailable': 'DPoP Replay Store Unavailable',
  'invalid-host': 'Invalid Host Header',
};

/**
 * The HTTP form of a {@link DPoPError}: an `HttpException` whose response is the problem
 * document and which carries the headers to send with it. The guard also sets those headers on
 * the response before throwing, so Nest's default exception filter sends a complete answer; a
 * custom filter can read `headers` and `problem` from here.
 */
export class DPoPException extends HttpException {
  constructor(
    /** The refusal as an RFC 7807 problem. */
    readonly problem: DPoPProblemDetails,
    /** `Content-Type`, `WWW-Authenticate`, `Cache-Control`, `DPoP-Nonce`, `Retry-After` (503). */
    readonly headers: Readonly<Record<string, string>>,
    readonly error: DPoPError,
    /**
     * What to send (`getResponse()`): the problem, except at a token endpoint asking for a
     * nonce, where RFC 9449 §8 wants the OAuth error object and status 400.
     */
    body: DPoPProblemDetails | DPoPOAuthErrorBody = problem,
    status: number = problem.status,
  ) {
    super(body, status, { cause: error });
  }
}

/** Quotes a value for an auth-param (RFC 9110 §11.2): backslash-escape `"` and `\`. */
function quoted(value: string): string {
  return '"' + value.replace(/["\\]/g, '\\$&') + '"';
}

/**
 * Makes the one mapping from domain error to HTTP, with what can be computed at start-up
 * (the `algs` parameter, the type base) computed once.
 */
export function createDPoPExceptionFactory(options: {
  problemTypeBase: string;
  algorithms: readonly string[];
  nonces?: DPoPNonceIssuer;
  clock?: () => number;
}): (error: DPoPError, instance?: string, tokenEndpoint?: boolean) => DPoPException {
  const algs = `algs=${quoted(options.algorithms.join(' '))}`;
  const base = options.problemTypeBase;
  const clock = options.clock ?? Date.now;
  return (error, instance, tokenEndpoint = false) => {
    const info = DPOP_ERROR_INFO[error.code];
    if (error.code === 'ERR_DPOP_USE_NONCE' && options.nonces !== undefined) {
      const nonce = options.nonces.current(clock());
      if (tokenEndpoint) {
        // RFC 9449 §8: an authorization server answers 400 with an OAuth error body.
        const { problem } = build(error, info, instance);
        return new DPoPException(
          problem,
          { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'DPoP-Nonce': nonce },
          error,
          { error: 'use_dpop_nonce', error_description: error.message },
          400,
        );
      }
      return build(error, info, instance, { 'DPoP-Nonce': nonce });
    }
    return build(error, info, instance);
  };

  function build(
    error: DPoPError,
    info: (typeof DPOP_ERROR_INFO)[keyof typeof DPOP_ERROR_INFO],
    instance: string | undefined,
    extraHeaders: Record<string, string> = {},
  ): DPoPException {
    const problem: DPoPProblemDetails = {
      type: base + info.slug,
      title: TITLES[info.slug]!,
      status: info.status,
      detail: error.message,
      ...(instance !== undefined && { instance }),
      code: error.code,
    };
    const headers: Record<string, string> = {
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
      ...extraHeaders,
    };
    if (info.status === 503) {
      headers['Retry-After'] = '1';
    } else {
      // RFC 9449 §7.1: the DPoP challenge, with the accepted algorithms.
      headers['WWW-Authenticate'] = info.challenge
        ? `DPoP error=${quoted(info.challenge)}, error_description=${quoted(error.message)}, ${algs}`
        : `DPoP ${algs}`;
    }
    return new DPoPException(problem, headers, error);
  }
}
