import { HttpException, Inject, Injectable } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import { DPOP_ERROR_INFO, DPoPError } from '../errors/dpop.errors.js';
import type { ResolvedDPoPOptions } from '../options/dpop-module-options.interface.js';
import type { DPoPNonceIssuer } from '../verifier/dpop-nonce.issuer.js';

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
  'invalid-token': 'Invalid Access Token',
  'token-required': 'Access Token Required',
  'insufficient-scope': 'Insufficient Scope',
  'issuer-unavailable': 'Authorization Server Unavailable',
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

/** `Retry-After` in whole seconds, at least 1: the error's own wait, else one second. */
function retryAfterOf(error: DPoPError): string {
  return String(Math.max(1, Math.ceil(error.retryAfter ?? 1)));
}

/** Quotes a value for an auth-param (RFC 9110 §11.2): backslash-escape `"` and `\`. */
function quoted(value: string): string {
  return '"' + value.replace(/["\\]/g, '\\$&') + '"';
}

/**
 * Makes the one mapping from domain error to HTTP, with what can be computed at start-up
 * (the `algs` parameter, the type base) computed once. Inside Nest, inject
 * {@link DPoPExceptionFactory} instead, which is this built from the module's options.
 * @internal
 */
export function createDPoPExceptionFactory(options: {
  problemTypeBase: string;
  algorithms: readonly string[];
  nonces?: DPoPNonceIssuer;
  clock?: () => number;
  /**
   * The RFC 9728 metadata URL of the resource a request path belongs to, for the challenge's
   * `resource_metadata` (RFC 9728 §5.1); `undefined` when none is published.
   */
  resourceMetadataUrl?: (path: string | undefined) => string | undefined;
}): (error: DPoPError, instance?: string, tokenEndpoint?: boolean) => DPoPException {
  const algs = `algs=${quoted(options.algorithms.join(' '))}`;
  const base = options.problemTypeBase;
  const clock = options.clock ?? Date.now;
  return (error, instance, tokenEndpoint = false) => {
    const info = DPOP_ERROR_INFO[error.code];
    // The error's own nonce (a replay store recovering from a loss) or the module's current one.
    const nonce =
      error.code === 'ERR_DPOP_USE_NONCE'
        ? (error.nonce ?? options.nonces?.current(clock()))
        : undefined;
    if (nonce !== undefined) {
      if (tokenEndpoint) {
        // RFC 9449 §8: an authorization server answers 400 with an OAuth error body.
        const { problem } = build(error, info, instance);
        return new DPoPException(
          problem,
          {
            'Content-Type': 'application/json',
            'Cache-Control': 'no-store',
            'DPoP-Nonce': nonce,
            ...(error.retryAfter !== undefined && { 'Retry-After': retryAfterOf(error) }),
          },
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
    // The real wait when the error knows it (a store full until its oldest entry expires, a
    // history loss whose window ends at a known time), else "try again in a second".
    if (info.status === 503 || error.retryAfter !== undefined) {
      headers['Retry-After'] = retryAfterOf(error);
    }
    if (info.status !== 503) {
      // RFC 9449 §7.1: the DPoP challenge, with the accepted algorithms.
      let challenge = info.challenge
        ? `DPoP error=${quoted(info.challenge)}, error_description=${quoted(error.message)}, ${algs}`
        : `DPoP ${algs}`;
      // RFC 6750 §3: the scope the route needs.
      if (error.scope !== undefined) challenge += `, scope=${quoted(error.scope)}`;
      const metadata = options.resourceMetadataUrl?.(instance);
      if (metadata !== undefined) challenge += `, resource_metadata=${quoted(metadata)}`;
      headers['WWW-Authenticate'] = challenge;
    }
    return new DPoPException(problem, headers, error);
  }
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

/** A response the guard can set headers on: Node's `ServerResponse` (Express) or Fastify's reply. */
export interface DPoPHeaderWritable {
  setHeader?: (name: string, value: string) => unknown;
  header?: (name: string, value: string) => unknown;
}

/** The part of Node's `ServerResponse` used to label the answer as it goes out. */
interface NodeResponse {
  setHeader(name: string, value: string): unknown;
  getHeader(name: string): unknown;
  writeHead(...args: unknown[]): unknown;
}

const JSON_TYPE = /^application\/json(?=\s*(?:;|$))/i;

/**
 * Sets a refusal's headers on the response before the exception is thrown, so that Nest's
 * default exception filter sends a complete answer.
 *
 * On a Node `ServerResponse` (Express) a non-JSON `Content-Type` such as
 * `application/problem+json` is applied as the head is written, not now. Why: NestJS 11's
 * `ExpressAdapter.reply()` reads `Content-Type` back and, when it is set and does not start with
 * `application/json`, logs `Content-Type doesn't match Reply body` and overwrites it with
 * `application/json`, so every refusal would be logged and mislabelled. Left unset, `reply()`
 * stays quiet and `res.json()` labels the body `application/json`; at `writeHead` that label
 * (and only that one: a filter that chose another type keeps it) becomes ours, with its
 * parameters (`; charset=utf-8`). NestJS 12 accepts `+json` types and behaves the same way.
 * Fastify's reply gets every header at once: neither major's `FastifyAdapter` objects to it.
 */
export function setDPoPHeaders(
  response: DPoPHeaderWritable,
  headers: Readonly<Record<string, string>>,
): void {
  const node = isNodeResponse(response) ? response : undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (node !== undefined) {
      if (name.toLowerCase() === 'content-type' && !JSON_TYPE.test(value)) {
        labelOnWriteHead(node, value);
      } else {
        node.setHeader(name, value);
      }
    } else if (typeof response.header === 'function') {
      response.header(name, value);
    } else if (typeof response.setHeader === 'function') {
      response.setHeader(name, value);
    }
  }
}

function isNodeResponse(response: object): response is NodeResponse {
  const candidate = response as Partial<NodeResponse>;
  return (
    typeof candidate.setHeader === 'function' &&
    typeof candidate.getHeader === 'function' &&
    typeof candidate.writeHead === 'function'
  );
}

/** Replaces a plain `application/json` label with `type` when the head goes out, once. */
function labelOnWriteHead(response: NodeResponse, type: string): void {
  const writeHead = response.writeHead;
  response.writeHead = function (this: NodeResponse, ...args: unknown[]): unknown {
    response.writeHead = writeHead;
    const current = this.getHeader('content-type');
    if (current === undefined) this.setHeader('Content-Type', type);
    else if (typeof current === 'string' && JSON_TYPE.test(current)) {
      this.setHeader('Content-Type', current.replace(JSON_TYPE, type));
    }
    return writeHead.apply(this, args);
  };
}
