import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { jwtConfirmationJkt, parseAuthorization } from './access-token.util.js';
import {
  DPOP_BOUND_KEY,
  DPOP_REQUEST_RESULT,
  DPOP_RESOLVED_OPTIONS,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
} from './dpop.constants.js';
import { DPoPError } from './dpop.errors.js';
import { DPoPEvents } from './dpop-events.service.js';
import { createDPoPExceptionFactory, setDPoPHeaders } from './dpop.exception.js';
import type { DPoPHttpRequest, ResolvedDPoPOptions } from './dpop-module-options.interface.js';
import { DPoPProofVerifier, type VerifiedDPoPProof } from './dpop-proof.verifier.js';
import { stripQueryAndFragment } from './http-uri.util.js';
import { createRequestUrlResolver, type RequestUrlResolver } from './request-url.util.js';

/** What the decorators say about one route. */
interface RoutePolicy {
  readonly skip: boolean;
  readonly bound: boolean;
  readonly tokenEndpoint: boolean;
}

/** The parts of a response the guard writes to: Node's `ServerResponse` or Fastify's reply. */
interface HeaderWritable {
  setHeader?: (name: string, value: string) => unknown;
  header?: (name: string, value: string) => unknown;
}

/**
 * Enforces DPoP (RFC 9449) on HTTP routes: use it with `@UseGuards(DPoPGuard)` or as an
 * `APP_GUARD`. A thin adapter: it reads the request, lets {@link DPoPProofVerifier} decide, puts
 * the verified proof on the request (`req.dpop` by default) and turns refusals into RFC 7807
 * problems with a `WWW-Authenticate: DPoP …` challenge.
 *
 * What it enforces, per route:
 * - `enabled: false`: nothing.
 * - `@SkipDPoP()`: nothing.
 * - `@DPoPBound()`: an access token bound with `cnf.jkt`, and a valid proof from that key.
 * - otherwise a sent proof must be valid (with `ath` when a token comes along, and the token's
 *   key when it is bound); a bound token or the `DPoP` scheme without a proof is refused; with
 *   `required: true` a proof must be sent.
 *
 * The guard checks the proof and the binding; it does not authenticate the access token itself.
 * The application's own auth must still verify the token's signature, audience and expiry.
 *
 * Override {@link getRequest} / {@link getResponse} for other transports, as with
 * `@nestjs/passport`'s `AuthGuard`.
 */
@Injectable()
export class DPoPGuard implements CanActivate {
  private readonly resolveUrl: RequestUrlResolver;
  private readonly toException: ReturnType<typeof createDPoPExceptionFactory>;
  /** Route decorators by controller class, then handler (see {@link routePolicy}). */
  private readonly policies = new WeakMap<object, WeakMap<object, RoutePolicy>>();
  private readonly resolveBinding: (
    token: string,
  ) => string | undefined | Promise<string | undefined>;

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
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.options.enabled || context.getType() !== 'http') return true;
    const route = this.routePolicy(context);
    if (route.skip) return true;

    const request = this.getRequest(context);
    const started = this.events.start();
    try {
      const proof = await this.verifyRequest(request, route.bound);
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
      const exception = this.toException(error, pathOf(request), route.tokenEndpoint);
      setDPoPHeaders(this.getResponse(context), exception.headers);
      throw exception;
    }
  }

  /**
   * The route's decorators, read once per handler: metadata is fixed at start-up, so there is
   * no reason to walk it on every request.
   */
  private routePolicy(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    // Keyed by class and handler: an inherited method serves controllers with other decorators.
    let byHandler = this.policies.get(controller);
    if (byHandler === undefined) this.policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (policy === undefined) {
      const targets = [handler, controller];
      const flag = (key: string) =>
        this.reflector.getAllAndOverride<boolean>(key, targets) === true;
      policy = {
        skip: flag(DPOP_SKIP_KEY),
        bound: flag(DPOP_BOUND_KEY),
        tokenEndpoint: flag(DPOP_TOKEN_ENDPOINT_KEY),
      };
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
    setHeader(response, 'DPoP-Nonce', current);
    setHeader(response, 'Cache-Control', 'no-store');
    this.events.nonceIssued(context, request);
  }

  /**
   * The token's `cnf.jkt` from the configured resolver. A resolver that fails (e.g. an
   * introspection outage) is a 503, not a 500; a `DPoPError` it throws passes through.
   */
  private async bindingOf(token: string): Promise<string | undefined> {
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

  /** The request object; override for non-standard transports. */
  protected getRequest(context: ExecutionContext): DPoPHttpRequest {
    return context.switchToHttp().getRequest<DPoPHttpRequest>();
  }

  /** The response object; override for non-standard transports. */
  protected getResponse(context: ExecutionContext): HeaderWritable {
    return context.switchToHttp().getResponse<HeaderWritable>();
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
    const presented = parseAuthorization(request.headers.authorization);
    const token = presented?.token;
    const boundJkt = token === undefined ? undefined : await this.bindingOf(token);
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
    return this.verifier.verify({
      proof,
      method: request.method ?? '',
      url,
      accessToken: token,
      expectedJkt: boundJkt,
    });
  }
}

/** The problem's `instance`: the request path, without query. */
function pathOf(request: DPoPHttpRequest): string | undefined {
  const target = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  return typeof target === 'string' ? stripQueryAndFragment(target) : undefined;
}

function setHeader(response: HeaderWritable, name: string, value: string): void {
  if (typeof response.setHeader === 'function') response.setHeader(name, value);
  else if (typeof response.header === 'function') response.header(name, value);
}
