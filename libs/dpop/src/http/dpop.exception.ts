import { HttpException, Inject, Injectable } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import type { DPoPError } from '../errors/dpop.errors.js';
import type { ResolvedDPoPOptions } from '../options/dpop-module-options.interface.js';
import {
  createDPoPRefusalMapper,
  type DPoPOAuthErrorBody,
  type DPoPProblemDetails,
  type DPoPRefusal,
  type DPoPRefusalSettings,
} from './dpop-http.mapping.js';

export type {
  DPoPOAuthErrorBody,
  DPoPProblemDetails,
  DPoPProblemSlug,
  DPoPRefusal,
} from './dpop-http.mapping.js';

/**
 * The HTTP form of a {@link DPoPError} for Nest: an `HttpException` whose response is the problem
 * document (see `dpop-http.mapping.ts`, the one mapping) and which carries the headers to send
 * with it. The guard also sets those headers on the response before throwing, so Nest's default
 * exception filter sends a complete answer; a custom filter can read `headers` and `problem`.
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

  /** The exception of a refusal built by the mapping. */
  static of(refusal: DPoPRefusal, error: DPoPError): DPoPException {
    return new DPoPException(refusal.problem, refusal.headers, error, refusal.body, refusal.status);
  }
}

/**
 * {@link createDPoPRefusalMapper} with its answer as a {@link DPoPException}. Inside Nest, inject
 * {@link DPoPExceptionFactory} instead, which is this built from the module's options.
 * @internal
 */
export function createDPoPExceptionFactory(
  options: DPoPRefusalSettings,
): (error: DPoPError, instance?: string, tokenEndpoint?: boolean) => DPoPException {
  const map = createDPoPRefusalMapper(options);
  return (error, instance, tokenEndpoint) =>
    DPoPException.of(map(error, instance, { tokenEndpoint }), error);
}

/**
 * The guard's mapping from {@link DPoPError} to {@link DPoPException}, as an injectable service:
 * for application code that makes its own DPoP refusals (e.g. an auth guard that checks a token's
 * `cnf.jkt` against the verified proof itself) and wants them to look exactly like the guard's,
 * with the same problem `type` base, challenge and `algs`.
 *
 * @example
 * ```ts
 * constructor(private readonly dpopErrors: DPoPExceptionFactory) {}
 * …
 * throw this.dpopErrors.create(
 *   new DPoPError('ERR_DPOP_BINDING_MISMATCH', 'Token JKT does not match DPoP proof'),
 *   request.path,
 * );
 * ```
 */
@Injectable()
export class DPoPExceptionFactory {
  private readonly build: ReturnType<typeof createDPoPExceptionFactory>;

  constructor(@Inject(DPOP_RESOLVED_OPTIONS) options: ResolvedDPoPOptions) {
    this.build = createDPoPExceptionFactory(options);
  }

  /**
   * @param error the refusal
   * @param instance the problem's `instance`, usually the request path without query
   * @param tokenEndpoint answer RFC 9449 §8's `use_dpop_nonce` as a token endpoint does (400)
   */
  create(error: DPoPError, instance?: string, tokenEndpoint = false): DPoPException {
    return this.build(error, instance, tokenEndpoint);
  }
}
