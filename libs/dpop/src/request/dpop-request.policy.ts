import {
  accessTokenVerifierFor,
  type AccessTokenVerifier,
} from '../access-token/access-token.verifier.js';
import { DPoPError } from '../errors/dpop.errors.js';
import {
  createDPoPRefusalMapper,
  type DPoPRefusal,
  type DPoPRefusalMapper,
} from '../http/dpop-http.mapping.js';
import type {
  DPoPHttpRequest,
  DPoPModuleOptions,
  ResolvedDPoPOptions,
} from '../options/dpop-module-options.interface.js';
import { resolveDPoPOptions } from '../options/dpop-options.resolver.js';
import { InMemoryJtiStore } from '../stores/in-memory-jti.store.js';
import { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';
import type { VerifiedDPoPProof } from '../verifier/dpop-proof.types.js';
import { stripQueryAndFragment } from '../verifier/http-uri.util.js';
import {
  isJwtShaped,
  jwtConfirmationJkt,
  parseAuthorization,
  type PresentedAccessToken,
} from './access-token.util.js';
import {
  hasMultipleAuthorizationHeaders,
  hasMultipleHostHeaders,
  hostDiffersFromAuthority,
} from './request-headers.util.js';
import { createRequestUrlResolver, type RequestUrlResolver } from './request-url.resolver.js';
import { RouteVerifiers } from './dpop-route.options.js';
import { ProofBudget } from './proof-budget.limiter.js';
import { checkResourceAudience, checkScopes, resourcePathOf } from './access-token-rules.util.js';
import type {
  DPoPRequestInput,
  DPoPRequestResult,
  DPoPRequestRoute,
} from './dpop-request.types.js';

export type {
  DPoPRequestInput,
  DPoPRequestResult,
  DPoPRequestRoute,
} from './dpop-request.types.js';

/**
 * The DPoP rules for one HTTP request, with no framework inside: a request in (`method`, `url`,
 * `headers`, `rawHeaders`, `socket`: Node's `IncomingMessage`, an Express request or a Fastify
 * request as they are), a verified proof out, or a {@link DPoPError}. `DPoPGuard` is a thin
 * adapter from Nest's `ExecutionContext` to this; a plain Express middleware or Fastify hook uses
 * it the same way (see `docs/without-nest.md`).
 *
 * In order, cheapest first: the request's shape (one `Host`, one `Authorization`, on HTTP/2 a
 * `Host` that agrees with `:authority`), the `Authorization` header and the token's binding, the
 * scheme and binding rules of RFC 9449 §7, the URL `htu` is compared with, then the proof
 * ({@link DPoPProofVerifier}: signature, claims, replay store last).
 *
 * @example
 * ```ts
 * const dpop = DPoPRequestPolicy.create({ allowedOrigins: ['https://api.example.com'] });
 * app.use(async (req, res, next) => {
 *   try {
 *     req.dpop = (await dpop.check(req)).proof;
 *     next();
 *   } catch (error) {
 *     if (!(error instanceof DPoPError)) return next(error);
 *     const refusal = dpop.refusal(error, req);
 *     res.writeHead(refusal.status, refusal.headers).end(JSON.stringify(refusal.body));
 *   }
 * });
 * ```
 */
export class DPoPRequestPolicy {
  private readonly resolveUrl: RequestUrlResolver;
  private readonly toRefusal: DPoPRefusalMapper;
  private readonly resolveBinding: (
    token: string,
  ) => string | undefined | Promise<string | undefined>;
  /** The access-token verifier, with the `accessToken` option. */
  private readonly tokens: AccessTokenVerifier | undefined;
  /** A verifier per route that has settings of its own. */
  private readonly routeVerifiers: RouteVerifiers;
  /**
   * New proofs per client and key, for proofs without a token the library verified (the
   * `proofBudget` option); `undefined` when it is off.
   */
  private readonly budget: ProofBudget | undefined;
  /**
   * The one verification of each request, shared by every check of it (see {@link check}): kept
   * on the request under this policy's own symbol, which costs nothing measurable, where a
   * `WeakMap` entry per request cost about 1 µs (the guard's budget beyond its signature is a
   * few dozen); in the `WeakMap` only for a request that cannot take a property (frozen).
   */
  private readonly verificationKey = Symbol('DPoPRequestPolicy verification');
  private readonly verifications = new WeakMap<object, SharedVerification>();

  /**
   * A policy with its verifier and replay store, from the options `DPoPModule.forRoot()` takes
   * (defaults applied and checked the same way; `store` defaults to an `InMemoryJtiStore`).
   * Nest-only options (`requestProperty`, `listeners`, `logRefusals`) are accepted and unused.
   * @throws {Error} naming the option, for a bad setting
   */
  static create(options: DPoPModuleOptions = {}): DPoPRequestPolicy {
    const resolved = resolveDPoPOptions(options);
    const verifier = new DPoPProofVerifier(resolved.store ?? new InMemoryJtiStore(), resolved);
    return new DPoPRequestPolicy(verifier, resolved);
  }

  /**
   * @param verifier the proof verifier (its store, algorithms and time window)
   * @param options resolved options (`resolveDPoPOptions()`); the nonce issuer must be the
   *   verifier's
   */
  constructor(
    readonly verifier: DPoPProofVerifier,
    readonly options: ResolvedDPoPOptions,
  ) {
    this.resolveUrl = createRequestUrlResolver(options);
    this.routeVerifiers = new RouteVerifiers(verifier);
    this.toRefusal = createDPoPRefusalMapper(options);
    this.resolveBinding = options.resolveTokenBinding ?? jwtConfirmationJkt;
    this.tokens =
      options.accessToken === undefined ? undefined : accessTokenVerifierFor(options.accessToken);
    this.budget =
      options.proofBudget === false
        ? undefined
        : new ProofBudget(options.proofBudget ?? {}, verifier.replayWindowMs, options.clock);
  }

  /**
   * Applies every rule to one request.
   * @param route what the route demands beyond the options (`bound`)
   * @returns what was verified; `proof` is `undefined` when the request may go on without one
   * @throws {DPoPError} the refusal, with a stable `code` ({@link refusal} makes it HTTP)
   */
  async check(input: DPoPRequestInput, route: DPoPRequestRoute = {}): Promise<DPoPRequestResult> {
    // The same object: the URL resolver and a custom `requestUrl` take it as DPoPHttpRequest.
    const request = input as DPoPHttpRequest;
    if (hasMultipleHostHeaders(request)) {
      // RFC 9112 §3.2: Node keeps the first Host, a proxy in front may have used the last.
      throw new DPoPError('ERR_DPOP_MULTIPLE_HOSTS', 'The request has more than one Host header');
    }
    if (hostDiffersFromAuthority(request)) {
      // RFC 9113 §8.3.1: malformed; which of the two would a proof be checked against?
      throw new DPoPError(
        'ERR_DPOP_MULTIPLE_HOSTS',
        'The request has a Host header that differs from its :authority',
      );
    }
    if (hasMultipleAuthorizationHeaders(request)) {
      // Node keeps the first; a proxy in front may have authenticated the last.
      throw new DPoPError('ERR_DPOP_INVALID_AUTHORIZATION', 'More than one Authorization header');
    }
    const token = parseAuthorization(request.headers.authorization);
    if (token !== undefined && this.tokens?.wouldIntrospect(token.token) === true) {
      this.checkBeforeIntrospection(request, route, token);
    }
    // With the `accessToken` option the token is verified, and its binding read from it.
    // A token verified before is answered from the cache without a trip through the microtask
    // queue; any other (new, refused before, expired) goes through `verify`.
    const accessToken =
      token === undefined || this.tokens === undefined
        ? undefined
        : (this.tokens.cached(token.token) ?? (await this.tokens.verify(token.token)));
    const resourceAudience = this.options.resourceAudience;
    if (accessToken !== undefined && resourceAudience !== undefined) {
      checkResourceAudience(
        accessToken,
        resourceAudience(resourcePathOf(request, pathOf(request))),
      );
    }
    const binding =
      token === undefined
        ? undefined
        : this.tokens !== undefined
          ? accessToken?.jkt
          : await this.bindingOf(token.token);
    // Only a token the library verified vouches for the request: anyone can write a JWT with a
    // cnf.jkt of their own key, so an unverified binding does not exempt a proof from the budget.
    const proof = await this.proofOf(request, route, token, binding, accessToken === undefined);
    if (route.scopes !== undefined) checkScopes(accessToken, route.scopes);
    return {
      proof,
      token,
      binding,
      accessToken,
      nonce: proof === undefined ? undefined : this.nextNonce(proof, route),
    };
  }

  /**
   * The HTTP form of a refusal, with no framework in it: status, headers (`WWW-Authenticate`,
   * `Content-Type`, `Cache-Control`, `DPoP-Nonce`, `Retry-After`) and the body to send as JSON
   * (an RFC 7807 problem; at a token endpoint asking for a nonce, RFC 9449 §8's OAuth error).
   * @param request the refused request: its path (without query) becomes the problem's `instance`
   * @param tokenEndpoint answer `use_dpop_nonce` as an authorization server does (400)
   * @param route the route's demands, as for {@link check}: where it takes plain Bearer tokens
   *   (no binding, no proof required), a published resource's challenge names it to them too;
   *   its own `algorithms` setting goes into the challenge's `algs` (RFC 9449 §7.1)
   */
  refusal(
    error: DPoPError,
    request?: DPoPRequestInput,
    tokenEndpoint = false,
    route: DPoPRequestRoute = {},
  ): DPoPRefusal {
    const bearer = route.bound !== true && !(route.required ?? this.options.required);
    const algorithms = route.options?.algorithms;
    if (request === undefined) {
      return this.toRefusal(error, undefined, { tokenEndpoint, bearer, algorithms });
    }
    const { authorization, dpop } = request.headers;
    // No credentials of any kind: RFC 6750 §3.1's challenge without an error code.
    const anonymous = !authorization && !dpop;
    return this.toRefusal(error, pathOf(request), { tokenEndpoint, bearer, anonymous, algorithms });
  }

  /**
   * The scheme and binding rules (RFC 9449 §7), then the proof. Not `async`: it hands back the
   * verification's own promise (an async function would wrap it in another, two microtask trips
   * more); its refusals are thrown into {@link check}, which rejects with them.
   */
  private proofOf(
    request: DPoPHttpRequest,
    route: DPoPRequestRoute,
    presented: PresentedAccessToken | undefined,
    boundJkt: string | undefined,
    counted: boolean,
  ): Promise<VerifiedDPoPProof> | undefined {
    const token = presented?.token;
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
    if (route.bound) {
      if (token === undefined) {
        throw new DPoPError(
          'ERR_DPOP_TOKEN_NOT_BOUND',
          'This endpoint requires a DPoP-bound access token',
        );
      }
      if (boundJkt === undefined)
        throw new DPoPError('ERR_DPOP_TOKEN_NOT_BOUND', this.unbound(token));
    }
    const proof = request.headers.dpop;
    if (proof === undefined || proof === '') {
      // A bound token without its proof is exactly what a thief would send (RFC 9449 §7.1):
      // refuse it in every mode, whichever scheme carries it.
      if (boundJkt !== undefined || presented?.scheme === 'DPoP') {
        throw new DPoPError(
          'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
          'A DPoP-bound access token requires a DPoP proof header',
        );
      }
      if (route.required ?? this.options.required) {
        throw new DPoPError('ERR_DPOP_MISSING', 'This endpoint requires a DPoP proof header');
      }
      return undefined;
    }

    // Verified already on this request (the guard applied twice, or several guarded fields of
    // one GraphQL operation, which run concurrently): share that one verification, since a
    // second one would only find the jti the first recorded. The rules above run on every check,
    // since each caller's route may demand more; so do the route's own proof settings.
    const routeVerifier = this.routeVerifiers.for(route.options);
    const memo = request as { [key: symbol]: SharedVerification | undefined };
    const shared = memo[this.verificationKey] ?? this.verifications.get(request);
    if (shared !== undefined) {
      if (shared.verifier === routeVerifier) return shared.result;
      // Another route's settings verified (and recorded) this proof: this route's algorithms,
      // nonce and time window are checked on it as well, without the store.
      return shared.result.then(() =>
        routeVerifier.check({
          proof,
          method: request.method ?? '',
          url: this.urlOf(request),
          accessToken: token,
          expectedJkt: boundJkt,
        }),
      );
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
    const url = this.urlOf(request);
    const budget = counted ? this.budget : undefined;
    const verification = routeVerifier.verify(
      {
        proof,
        method: request.method ?? '',
        url,
        accessToken: token,
        expectedJkt: boundJkt,
      },
      // After the signature and claims (a forged proof takes nothing), before the store.
      budget && ((checked) => budget.take(request, checked.jkt)),
    );
    const entry = { verifier: routeVerifier, result: verification };
    if (Object.isExtensible(request)) memo[this.verificationKey] = entry;
    else this.verifications.set(request, entry);
    return verification;
  }

  /**
   * Anyone can send made-up opaque tokens, and each would cost the authorization server one
   * introspection request: so the proof is checked first (signature, claims, `ath` for this
   * token; the replay store and the binding come after introspection, which gives `cnf.jkt`)
   * and counted against the proof budget. A flood then reaches the issuer only as fast as the
   * budget lets new proofs in, and only with proofs made for each token. This costs a first-seen
   * opaque token one more signature check, beside an HTTP round trip; a known token, none.
   */
  private checkBeforeIntrospection(
    request: DPoPHttpRequest,
    route: DPoPRequestRoute,
    presented: PresentedAccessToken,
  ): void {
    const proof = request.headers.dpop;
    if (proof === undefined || proof === '') {
      // The DPoP scheme is refused without a proof whatever the token says (RFC 9449 §7.1), and
      // so is any token on a route that needs a bound token: bound, it needs its proof; unbound,
      // it is not what the route takes.
      if (presented.scheme === 'DPoP' || route.bound === true) {
        throw new DPoPError(
          'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
          'A DPoP-bound access token requires a DPoP proof header',
        );
      }
      // A route that requires a proof refuses its absence whatever the token.
      if (route.required ?? this.options.required) {
        throw new DPoPError('ERR_DPOP_MISSING', 'This endpoint requires a DPoP proof header');
      }
      // Elsewhere a Bearer token without a proof may be a plain bearer token: introspection
      // decides (bounded only by its negative cache: such routes accept bearer tokens).
      return;
    }
    const url = this.urlOf(request);
    const checked = this.routeVerifiers
      .for(route.options)
      .check({ proof, method: request.method ?? '', url, accessToken: presented.token });
    this.budget?.take(request, checked.jkt);
  }

  /** The request's URI as a proof's `htu` must name it; refused when it cannot be known. */
  private urlOf(request: DPoPHttpRequest): string {
    const url = this.resolveUrl(request);
    if (url === undefined) {
      throw new DPoPError(
        'ERR_DPOP_HTU_MISMATCH',
        'DPoP htu cannot be checked: request URI is not valid',
        { claim: 'htu' },
      );
    }
    return url;
  }

  /** The detail for a token without a binding: why none was found, and where to look. */
  private unbound(token: string): string {
    if (this.tokens !== undefined || this.options.resolveTokenBinding !== undefined) {
      return this.tokens === undefined
        ? 'Access token does not have DPoP binding (resolveTokenBinding found none)'
        : 'Access token does not have DPoP binding (missing cnf.jkt)';
    }
    // The default reader decodes JWTs only: an opaque token is "unbound" for want of a reader.
    return isJwtShaped(token)
      ? 'Access token does not have DPoP binding (missing cnf.jkt)'
      : 'The access token is not a JWT, so it carries no cnf.jkt; use resolveTokenBinding or ' +
          'accessToken for opaque tokens';
  }

  /**
   * The token's `cnf.jkt` from the configured resolver. A `DPoPError` it throws passes through
   * (`TokenBindingUnavailableError`: 503); any other failure refuses the token (401
   * `invalid_token`), never a 500 and never a pass.
   */
  private async bindingOf(token: string): Promise<string | undefined> {
    try {
      return await this.resolveBinding(token);
    } catch (error) {
      if (error instanceof DPoPError) throw error;
      throw new DPoPError(
        'ERR_DPOP_TOKEN_BINDING_INVALID',
        'The DPoP binding of the access token could not be read',
        { cause: error },
      );
    }
  }

  /**
   * RFC 9449 §8: when the nonce a valid proof used is no longer the current one, hand out the
   * current one with the response, so the client switches before the old one expires. Only
   * where the route requires nonces: elsewhere a nonce would ride along on every response.
   */
  private nextNonce(proof: VerifiedDPoPProof, route: DPoPRequestRoute): string | undefined {
    const nonces = this.routeVerifiers.for(route.options).nonceIssuer;
    if (nonces === undefined) return undefined;
    const current = nonces.current(this.options.clock());
    return proof.nonce === current ? undefined : current;
  }
}

/** A proof verification shared by the checks of one request, and the verifier that made it. */
interface SharedVerification {
  readonly verifier: DPoPProofVerifier;
  readonly result: Promise<VerifiedDPoPProof>;
}

/** The problem's `instance`: the request path, without query. */
function pathOf(request: DPoPRequestInput): string | undefined {
  const target = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  return typeof target === 'string' ? stripQueryAndFragment(target) : undefined;
}
