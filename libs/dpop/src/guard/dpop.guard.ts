import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  DPOP_ACCESS_TOKEN_RESULT,
  DPOP_REQUEST_RESULT,
  DPOP_RESOLVED_OPTIONS,
} from '../options/dpop.constants.js';
import { DPoPError } from '../errors/dpop.errors.js';
import { DPoPEvents } from '../events/dpop-events.service.js';
import { DPoPException } from '../http/dpop.exception.js';
import { graphqlRefusal } from '../http/graphql-refusal.util.js';
import { setDPoPHeaders, type DPoPHeaderWritable } from '../http/response-headers.util.js';
import { httpRequestOf, httpResponseOf } from '../http/execution-context.util.js';
import type {
  DPoPHttpRequest,
  ResolvedDPoPOptions,
} from '../options/dpop-module-options.interface.js';
import { DPoPRequestPolicy, type DPoPRequestResult } from '../request/dpop-request.policy.js';
import { DPoPProofVerifier, type VerifiedDPoPProof } from '../verifier/dpop-proof.verifier.js';
import { RoutePolicyCache } from './route-policy.cache.js';

/**
 * Enforces DPoP (RFC 9449): use it with `@UseGuards(DPoPGuard)` or as an `APP_GUARD`. A thin
 * adapter: context → request → {@link DPoPRequestPolicy} (which holds every rule and calls the
 * {@link DPoPProofVerifier}) → the verified proof on the request (`req.dpop` by default), or the
 * refusal as an RFC 7807 problem with a `WWW-Authenticate: DPoP …` challenge.
 *
 * What it enforces, per route:
 * - `enabled: false`: nothing.
 * - `@SkipDPoP()`: nothing.
 * - `@DPoPBound()`: an access token bound with `cnf.jkt`, and a valid proof from that key.
 * - otherwise a sent proof must be valid (with `ath` when a token comes along, and the token's
 *   key when it is bound); a bound token or the `DPoP` scheme without a proof is refused; with
 *   `required: true` a proof must be sent.
 *
 * A method's `@SkipDPoP()` or `@DPoPBound()` wins over its class's, in both directions.
 *
 * Contexts: `http` (Express, Fastify; HTTP/1.1 and HTTP/2) and `graphql` over HTTP (the request
 * under the GraphQL context, as `GqlExecutionContext` reads it) are checked. Contexts without an
 * HTTP request (`rpc`, `ws`, GraphQL subscriptions over WebSocket) cannot be: there the guard
 * refuses bound routes, and every route when `required` is on, unless `@SkipDPoP()`; override
 * {@link getRequest} to hand it a request it can check.
 *
 * The guard checks the proof and the binding; it does not authenticate the access token itself.
 * The application's own auth must still verify the token's signature, audience and expiry.
 *
 * Extension points, as `@nestjs/passport`'s `AuthGuard` and `@nestjs/throttler`'s guard offer
 * them: {@link shouldSkip}, {@link onVerified}, {@link handleRefusal}, {@link getRequest},
 * {@link getResponse}.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class AuditedDPoPGuard extends DPoPGuard {
 *   protected override handleRefusal(error: DPoPError, context: ExecutionContext): never {
 *     audit.warn({ code: error.code });
 *     return super.handleRefusal(error, context);
 *   }
 * }
 * ```
 */
@Injectable()
export class DPoPGuard implements CanActivate {
  /** The request rules, built once from the options and the verifier. */
  protected readonly policy: DPoPRequestPolicy;
  private readonly routes: RoutePolicyCache;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly verifier: DPoPProofVerifier,
    @Inject(DPOP_RESOLVED_OPTIONS) protected readonly options: ResolvedDPoPOptions,
    // Optional so that subclasses and hand-made guards keep working without it.
    @Optional() protected readonly events: DPoPEvents = new DPoPEvents(options),
  ) {
    this.policy = new DPoPRequestPolicy(verifier, options);
    this.routes = new RoutePolicyCache(reflector, options.publicRouteMetadata);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // The hooks may answer synchronously (the defaults do): awaiting a plain value still costs a
    // trip through the microtask queue, so only a promise is awaited.
    const skip = this.shouldSkip(context);
    if (skip === true || (skip !== false && (await skip))) return true;
    const route = this.routes.of(context);
    const request = this.getRequest(context);
    const started = this.events.start();
    try {
      if (request === undefined) {
        // Nothing to check here: fail closed wherever a proof or a binding is demanded.
        if (route.bound || (route.required ?? this.options.required)) {
          throw new DPoPError(
            'ERR_DPOP_UNSUPPORTED_CONTEXT',
            `DPoP cannot be checked on a "${context.getType()}" context`,
          );
        }
        return true;
      }
      const result = await this.policy.check(request, route);
      if (result.accessToken !== undefined) {
        // For `@AccessTokenClaims()` and the configured property.
        request[DPOP_ACCESS_TOKEN_RESULT] = result.accessToken;
        request[this.options.accessToken!.requestProperty] = result.accessToken;
      }
      const proof = result.proof;
      if (proof === undefined) {
        this.events.passed(context, request, started);
        return true;
      }
      request[this.options.requestProperty] = proof;
      request[DPOP_REQUEST_RESULT] = proof;
      const verified = this.onVerified({ ...result, proof }, context);
      if (verified !== undefined) await verified;
      this.events.accepted(context, request, proof, started);
      if (result.nonce !== undefined) {
        // RFC 9449 §8: the client switches to the current nonce before its old one expires.
        setDPoPHeaders(this.getResponse(context), {
          'DPoP-Nonce': result.nonce,
          'Cache-Control': 'no-store',
        });
        this.events.nonceIssued(context, request);
      }
      return true;
    } catch (error) {
      if (!(error instanceof DPoPError)) throw error;
      this.events.refused(context, request, error, started);
      return this.handleRefusal(error, context);
    }
  }

  /**
   * Whether the guard lets this request through without looking at it. Default: DPoP disabled,
   * or `@SkipDPoP()` on the handler (or on its class, unless the handler says `@DPoPBound()`).
   * Override to skip more (e.g. an internal health probe); call `super.shouldSkip()` to keep the
   * decorators working.
   */
  protected shouldSkip(context: ExecutionContext): boolean | Promise<boolean> {
    return !this.options.enabled || this.routes.of(context).skip;
  }

  /**
   * Runs when a proof verified, after it was put on the request and before the handler: the
   * success-side hook (audit, per-route key allow-lists, copying the key thumbprint into your
   * own auth context). `result` holds the proof, the presented token and its binding. Default:
   * nothing. Throw a {@link DPoPError} to refuse the request as the guard refuses (it goes
   * through {@link handleRefusal} and the events); any other error propagates as it is.
   *
   * @example
   * ```ts
   * protected override onVerified({ proof }: DPoPVerifiedRequest): void {
   *   if (!allowedKeys.has(proof.jkt)) {
   *     throw new DPoPError('ERR_DPOP_BINDING_MISMATCH', 'This key may not call this service');
   *   }
   * }
   * ```
   */
  protected onVerified(
    _result: DPoPVerifiedRequest,
    _context: ExecutionContext,
  ): void | Promise<void> {
    // Nothing by default: the extension point for subclasses.
  }

  /**
   * What a refusal does. Default: on an HTTP response (http, GraphQL over HTTP), set the problem's
   * headers (`WWW-Authenticate`, `Cache-Control`, `DPoP-Nonce`, `Retry-After`) and throw the
   * {@link DPoPException} (an RFC 7807 problem; in GraphQL an error whose `extensions` carry
   * `code` `UNAUTHENTICATED` / `BAD_REQUEST` / `SERVICE_UNAVAILABLE` and the `problem`). In other
   * contexts (rpc, ws) return `false`, so that the transport refuses in its own way (Nest's
   * `Forbidden resource` as an `RpcException` / `WsException`).
   *
   * Override for a custom error shape or audit logging. Throw to refuse with your own error,
   * return `false` for the transport's refusal; returning `true` lets the request through.
   */
  protected handleRefusal(error: DPoPError, context: ExecutionContext): boolean | Promise<boolean> {
    const type = context.getType<string>();
    // rpc, ws: no HTTP answer to shape; the transport's own refusal says it.
    if (type !== 'http' && type !== 'graphql') return false;
    const route = this.routes.of(context);
    const refusal = this.policy.refusal(
      error,
      this.getRequest(context),
      route.tokenEndpoint,
      route,
    );
    const exception = DPoPException.of(refusal, error);
    if (type === 'graphql') {
      const { headers, ...shape } = graphqlRefusal(refusal);
      setDPoPHeaders(this.getResponse(context), headers);
      Object.assign(exception, shape);
    } else {
      setDPoPHeaders(this.getResponse(context), refusal.headers);
    }
    throw exception;
  }

  /**
   * The HTTP request to check: for `http` the request, for `graphql` the request under the
   * GraphQL context (`req`, as the Apollo and Mercurius drivers put it), else `undefined` (the
   * guard cannot check that context). Override for other transports, e.g. a WebSocket
   * handshake request.
   */
  protected getRequest(context: ExecutionContext): DPoPHttpRequest | undefined {
    return httpRequestOf(context);
  }

  /**
   * The response that gets the challenge and nonce headers, or `undefined` when there is none
   * (then {@link handleRefusal} cannot send a problem). Override with {@link getRequest}.
   */
  protected getResponse(context: ExecutionContext): DPoPHeaderWritable | undefined {
    return httpResponseOf(context);
  }
}

/** What {@link DPoPGuard.onVerified} receives: a request result whose proof verified. */
export type DPoPVerifiedRequest = DPoPRequestResult & { readonly proof: VerifiedDPoPProof };
