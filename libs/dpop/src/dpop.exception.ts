import { HttpException } from '@nestjs/common';
import { DPOP_ERROR_INFO, DPoPError } from './dpop.errors.js';

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

const TITLES: Record<string, string> = {
  'dpop-required': 'DPoP Proof Required',
  'dpop-invalid': 'Invalid DPoP Proof',
  'dpop-binding-mismatch': 'DPoP Binding Mismatch',
  'token-not-dpop-bound': 'Token Not DPoP Bound',
  'dpop-store-unavailable': 'DPoP Replay Store Unavailable',
};

/**
 * The HTTP form of a {@link DPoPError}: an `HttpException` whose response is the problem
 * document and which carries the headers to send with it. The guard also sets those headers on
 * the response before throwing, so Nest's default exception filter sends a complete answer; a
 * custom filter can read `headers` and `problem` from here.
 */
export class DPoPException extends HttpException {
  constructor(
    readonly problem: DPoPProblemDetails,
    /** `Content-Type`, `WWW-Authenticate`, `Cache-Control`, and `Retry-After` for 503s. */
    readonly headers: Readonly<Record<string, string>>,
    readonly error: DPoPError,
  ) {
    super(problem, problem.status, { cause: error });
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
}): (error: DPoPError, instance?: string) => DPoPException {
  const algs = `algs=${quoted(options.algorithms.join(' '))}`;
  const base = options.problemTypeBase;
  return (error, instance) => {
    const info = DPOP_ERROR_INFO[error.code];
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
    };
    if (info.status === 401) {
      // RFC 9449 §7.1: the DPoP challenge, with the accepted algorithms.
      headers['WWW-Authenticate'] = info.challenge
        ? `DPoP error=${quoted(info.challenge)}, error_description=${quoted(error.message)}, ${algs}`
        : `DPoP ${algs}`;
    } else {
      headers['Retry-After'] = '1';
    }
    return new DPoPException(problem, headers, error);
  };
}
