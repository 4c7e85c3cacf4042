import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  Optional,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { jwtConfirmationJkt, parseAuthorization } from '../request/access-token.util.js';
import {
  DPOP_ACCESS_TOKEN_RESULT,
  DPOP_REQUEST_RESULT,
  DPOP_RESOLVED_OPTIONS,
} from '../options/dpop.constants.js';
import {
  accessTokenVerifierFor,
  type AccessTokenVerifier,
} from '../access-token/access-token.verifier.js';
import type { VerifiedAccessToken } from '../access-token/access-token.types.js';
import { DPoPError } from '../errors/dpop.errors.js';
import { dpopRoutePolicy, type DPoPRoutePolicy } from './dpop-route-policy.util.js';
import { DPoPEvents } from '../events/dpop-events.service.js';
import { createDPoPExceptionFactory, setDPoPHeaders } from '../http/dpop.exception.js';
import type {
  DPoPHttpRequest,
  ResolvedDPoPOptions,
} from '../options/dpop-module-options.interface.js';
import { DPoPProofVerifier, type VerifiedDPoPProof } from '../verifier/dpop-proof.verifier.js';
import { stripQueryAndFragment } from '../verifier/http-uri.util.js';
import {
  httpRequestOf,
  httpResponseOf,
  setResponseHeader,
  type DPoPHeaderWritable,
} from '../http/execution-context.util.js';
import {
  createRequestUrlResolver,
  hasMultipleHostHeaders,
  requestUrlWarning,
  type RequestUrlResolver,
} from '../request/request-url.resolver.js';

type RoutePolicy = DPoPRoutePolicy;

/** Resolved options the start-up warning was already logged for (one per module). */
const warnedAbout = new WeakSet<ResolvedDPoPOptions>();

/**
 * Enforces DPoP (RFC 9449): use it with `@UseGuards(DPoPGuard)` or as an `APP_GUARD`. A thin
 * adapter: it reads the request, lets {@link DPoPProofVerifier} decide, puts the verified proof
 * on the request (`req.dpop` by default) and turns refusals into RFC 7807 problems with a
 * `WWW-Authenticate: DPoP …` challenge.
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
 * Contexts: `http` (Express, Fastify) and `graphql` over HTTP (the request under the GraphQL
 * context, as `GqlExecutionContext` reads it) are checked. Contexts without an HTTP request
 * (`rpc`, `ws`, GraphQL subscriptions over WebSocket) cannot be: there the guard refuses bound
 * routes, and every route when `required` is on, unless `@SkipDPoP()`; override
 * {@link getRequest} to hand it a request it can check.
 *
 * The guard checks the proof and the binding; it does not authenticate the access token itself.
 * The application's own auth must still verify the token's signature, audience and expiry.
 *
 * Extension points, as `@nestjs/passport`'s `AuthGuard` and `@nestjs/throttler`'s guard offer
 * them: {@link shouldSkip}, {@link handleRefusal}, {@link getRequest}, {@link getResponse}.
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
  private readonly resolveUrl: RequestUrlResolver;
  private readonly toException: ReturnType<typeof createDPoPExceptionFactory>;
  /** Route decorators by controller class, then handler (see {@link routePolicy}). */
  private readonly policies = new WeakMap<object, WeakMap<object, RoutePolicy>>();
  /** The one verification of each request, shared by every guarded handler it reaches. */
  private readonly verifications = new WeakMap<object, Promise<VerifiedDPoPProof>>();
  private readonly resolveBinding: (
    token: string,
  ) => string | undefined | Promise<string | undefined>;
  /** The access-token verifier, with the `accessToken` option. */
  private readonly tokens: AccessTokenVerifier | undefined;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly verifier: DPoPProofVerifier,
    @Inject(DPOP_RESOLVED_OPTIONS) protected readonly options: ResolvedDPoPOptions,
    // Optional so that subclasses and hand-made guards keep working without it.
    @Optional() protected readonly events: DPoPEvents = new DPoPEvents(options),
  ) {
    this.resolveUrl = createRequestUrlResolver(options);
    this.toException = createDPoPExceptionFactory(options);
    this.resolveBinding = options.resolveTokenBinding ?? jwtConfirmationJkt;
    this.tokens =
      options.accessToken === undefined ? undefined : accessTokenVerifierFor(options.accessToken);
    if (!warnedAbout.has(options)) {
      warnedAbout.add(options);
      const warning = requestUrlWarning(options);
      if (warning !== undefined) new Logger('DPoPGuard').warn(warning);
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (await this.shouldSkip(context)) return true;
    const route = this.routePolicy(context);
    const request = this.getRequest(context);
    const started = this.events.start();
    try {
      if (request === undefined) {
        // Nothing to check here: fail closed wherever a proof or a binding is demanded.
        if (route.bound || this.options.required) {
          throw new DPoPError(
            'ERR_DPOP_UNSUPPORTED_CONTEXT',
            `DPoP cannot be checked on a "${context.getType()}" context`,
          );
        }
        return true;
      }
      const proof = await this.verifyRequest(request, route.bound);
      if (route.scopes !== undefined) this.checkScopes(request, route.scopes);
      if (proof !== undefined) {
        request[this.options.requestProperty] = proof;
        request[DPOP_REQUEST_RESULT] = proof;
        this.events.accepted(context, request, proof, started);
        this.rotateNonce(context, proof, request);
      } else this.events.passed(context, request, started);
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
    return !this.options.enabled || this.routePolicy(context).skip;
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
    const request = this.getRequest(context);
    const response = this.getResponse(context);
    const route = this.routePolicy(context);
    const exception = this.toException(
      error,
      request === undefined ? undefined : pathOf(request),
      route.tokenEndpoint,
    );
    const graphql = type === 'graphql';
    // The GraphQL server writes its own body and content type.
    const headers = graphql
      ? Object.fromEntries(Object.entries(exception.headers).filter(([n]) => n !== 'Content-Type'))
      : exception.headers;
    if (response !== undefined) setDPoPHeaders(response, headers);
    if (graphql) {
      // graphql-js copies an error's `extensions` into the GraphQL error it reports.
      Object.assign(exception, {
        message: exception.problem.detail,
        extensions: { code: graphqlCode(exception.getStatus()), problem: exception.problem },
      });
    }
    throw exception;
  }

  /**
   * The route's decorators, read once per handler: metadata is fixed at start-up, so there is
   * no reason to walk it on every request. The handler's `@SkipDPoP()` / `@DPoPBound()` decides
   * when it has either; only otherwise does its class's.
   */
  private routePolicy(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    // Keyed by class and handler: an inherited method serves controllers with other decorators.
    let byHandler = this.policies.get(controller);
    if (byHandler === undefined) this.policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (policy === undefined) {
      policy = dpopRoutePolicy(this.reflector, handler, controller);
      byHandler.set(handler, policy);
    }
    return policy;
  }

  /**
   * RFC 9449 §8.2: when the nonce a valid proof used is no longer the current one, hand out the
   * current one with the response, so the client switches before the old one expires.
   */
  private rotateNonce(
    context: ExecutionContext,
    proof: VerifiedDPoPProof,
    request: DPoPHttpRequest,
  ): void {
    const nonces = this.options.nonces;
    if (nonces === undefined) return;
    const current = nonces.current(this.options.clock());
    if (proof.nonce === current) return;
    const response = this.getResponse(context);
    setResponseHeader(response, 'DPoP-Nonce', current);
    setResponseHeader(response, 'Cache-Control', 'no-store');
    this.events.nonceIssued(context, request);
  }

  /**
   * RFC 6750 §3.1: the verified token must grant every scope the route requires (403
   * `insufficient_scope` otherwise); no token at all is a 401.
   */
  private checkScopes(request: DPoPHttpRequest, scopes: readonly string[]): void {
    const token = request[DPOP_ACCESS_TOKEN_RESULT] as VerifiedAccessToken | undefined;
    if (token === undefined) {
      throw new DPoPError('ERR_DPOP_TOKEN_REQUIRED', 'This endpoint requires an access token', {
        scope: scopes.join(' '),
      });
    }
    if (!scopes.every((scope) => token.scopes.includes(scope))) {
      throw new DPoPError(
        'ERR_DPOP_INSUFFICIENT_SCOPE',
        'The access token does not grant the scope this endpoint requires',
        { scope: scopes.join(' ') },
      );
    }
  }

  /**
   * The token's `cnf.jkt`: from the verified token with the `accessToken` option (its claims go
   * on the request), else from the configured resolver. A resolver that fails (e.g. an
   * introspection outage) is a 503, not a 500; a `DPoPError` it throws passes through.
   */
  private async bindingOf(token: string, request: DPoPHttpRequest): Promise<string | undefined> {
    if (this.tokens !== undefined) {
      const verified = await this.tokens.verify(token);
      request[DPOP_ACCESS_TOKEN_RESULT] = verified;
      request[this.options.accessToken!.requestProperty] = verified;
      return verified.jkt;
    }
    try {
      return await this.resolveBinding(token);
    } catch (error) {
      if (error instanceof DPoPError) throw error;
      throw new DPoPError(
        'ERR_DPOP_STORE_UNAVAILABLE',
        'DPoP token binding could not be read; try again later',
        { cause: error },
      );
    }
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

  /**
   * The decision, with no Nest in it.
   * @returns the verified proof, or `undefined` when the route may proceed without one
   * @throws {DPoPError}
   */
  protected async verifyRequest(
    request: DPoPHttpRequest,
    bound: boolean,
  ): Promise<VerifiedDPoPProof | undefined> {
    if (hasMultipleHostHeaders(request)) {
      // RFC 9112 §3.2: Node keeps the first Host, a proxy in front may have used the last.
      throw new DPoPError('ERR_DPOP_MULTIPLE_HOSTS', 'The request has more than one Host header');
    }
    const presented = parseAuthorization(request.headers.authorization);
    const token = presented?.token;
    const boundJkt = token === undefined ? undefined : await this.bindingOf(token, request);
    if (
      this.options.strictAuthorizationScheme &&
      presented?.scheme === 'DPoP' &&
      boundJkt === undefined
    ) {
      throw new DPoPError(
        'ERR_DPOP_SCHEME_MISMATCH',
        'The DPoP scheme needs a DPoP-bound access token',
      );
    }
    const proof = request.headers.dpop;

    if (bound) {
      if (token === undefined) {
        throw new DPoPError(
          'ERR_DPOP_TOKEN_NOT_BOUND',
          'This endpoint requires a DPoP-bound access token',
        );
      }
      if (boundJkt === undefined) {
        throw new DPoPError(
          'ERR_DPOP_TOKEN_NOT_BOUND',
          'Access token does not have DPoP binding (missing cnf.jkt)',
        );
      }
    }
    if (proof === undefined || proof === '') {
      // A bound token without its proof is exactly what a thief would send (RFC 9449 §7.1):
      // refuse it in every mode, whichever scheme carries it.
      if (boundJkt !== undefined || presented?.scheme === 'DPoP') {
        throw new DPoPError(
          'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
          'A DPoP-bound access token requires a DPoP proof header',
        );
      }
      if (this.options.required) {
        throw new DPoPError('ERR_DPOP_MISSING', 'This endpoint requires a DPoP proof header');
      }
      return undefined;
    }

    // Verified already on this request (the guard applied twice, or several guarded fields of
    // one GraphQL operation, which run concurrently): share that one verification, since a
    // second one would only find the jti the first recorded.
    const inFlight = this.verifications.get(request);
    if (inFlight !== undefined) return inFlight;

    // RFC 9449 §7.2: a bound token received as a bearer token is refused, proof or not (without
    // a proof it was refused above), unless the compatibility option says otherwise.
    if (
      presented?.scheme === 'Bearer' &&
      boundJkt !== undefined &&
      !this.options.allowBearerBoundTokens
    ) {
      throw new DPoPError(
        'ERR_DPOP_SCHEME_MISMATCH',
        'A DPoP-bound access token must use the DPoP scheme, not Bearer (RFC 9449 §7.2)',
      );
    }
    const url = this.resolveUrl(request);
    if (url === undefined) {
      throw new DPoPError(
        'ERR_DPOP_HTU_MISMATCH',
        'DPoP htu cannot be checked: request URI is not valid',
      );
    }
    const verification = this.verifier.verify({
      proof,
      method: request.method ?? '',
      url,
      accessToken: token,
      expectedJkt: boundJkt,
    });
    this.verifications.set(request, verification);
    return verification;
  }
}

/** The problem's `instance`: the request path, without query. */
function pathOf(request: DPoPHttpRequest): string | undefined {
  const target = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  return typeof target === 'string' ? stripQueryAndFragment(target) : undefined;
}

/** The GraphQL error code for a refusal's HTTP status (Apollo's names). */
function graphqlCode(status: number): string {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  return 'BAD_REQUEST';
}
