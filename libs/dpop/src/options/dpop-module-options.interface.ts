import type { DPoPProofBudgetOptions } from '../request/proof-budget.limiter.js';
import type { DPoPAlgorithm } from './dpop.constants.js';
import type { DPoPEventListener } from '../events/dpop-events.interface.js';
import type { DPoPNonceIssuer, DPoPNonceOptions } from '../verifier/dpop-nonce.issuer.js';
import type { JtiStore } from '../stores/jti-store.interface.js';
import type { DPoPAccessTokenOptions } from '../access-token/access-token-options.interface.js';
import type { ResolvedAccessTokenOptions } from '../access-token/access-token-options.resolver.js';
import type {
  ProtectedResourceMetadataOptions,
  PublishedResourceMetadata,
} from '../metadata/protected-resource-metadata.js';

/**
 * The request as the guard sees it: the Node.js `IncomingMessage` shape that Express and Fastify
 * both expose (`headers`, `method`, `url`), plus the optional framework fields it may use.
 */
export interface DPoPHttpRequest {
  method?: string;
  url?: string;
  /** Express: the URL before any router mount point was stripped. */
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  socket?: { encrypted?: boolean; remoteAddress?: string } | null;
  [key: string | symbol]: unknown;
}

/** Options of `DPoPModule.forRoot()`. Durations are in seconds, as in the environment variables. */
export interface DPoPModuleOptions {
  /** Master switch (`DPOP_ENABLED`). When false the guard ignores DPoP entirely. Default `true`. */
  enabled?: boolean;
  /**
   * `DPOP_REQUIRED`. When true every guarded route needs a valid proof (routes marked
   * `@SkipDPoP()` excepted). When false a proof is checked only if sent, and an invalid one is
   * still refused. `@DPoPBound()` routes need one either way. Default `false`.
   */
  required?: boolean;
  /** `DPOP_PROOF_TTL`: the oldest `iat` accepted, in seconds. Default 120. */
  proofTtl?: number;
  /** `DPOP_CLOCK_SKEW`: how far in the future `iat` may be, in seconds. Default 60. */
  clockSkew?: number;
  /**
   * `DPOP_ALGORITHMS`: accepted proof `alg` values. Default `['EdDSA', 'Ed25519', 'ES256',
   * 'RS256']`; opt-in: `Ed448`, `ES384`, `ES512`, `RS384`, `RS512`, `PS256`, `PS384`, `PS512`.
   */
  algorithms?: DPoPAlgorithm[];
  /**
   * The replay store. Default: a new `InMemoryJtiStore` (one process only). A provider of the
   * `JtiStore` token (e.g. via `overrideProvider`) replaces whatever is given here.
   */
  store?: JtiStore;
  /**
   * The public base URL of this service, e.g. `https://api.example.com` or
   * `https://example.com/api` behind a reverse proxy. When set, `htu` is checked against this
   * base plus the request path, and the `Host` header is not used. Default: built from the
   * connection (http/https) and the `Host` header; forwarded headers are never trusted.
   */
  publicUrl?: string;
  /**
   * Reverse proxies whose forwarded headers are believed: IP addresses or CIDR ranges
   * (e.g. `['127.0.0.1', '10.0.0.0/8', '::1']`). Only when the connection itself comes from one
   * of them are `Forwarded` (`proto=`, `host=`) or `X-Forwarded-Proto` / `X-Forwarded-Host` used
   * to build the URL `htu` is compared with, and only their last (nearest) value. Default: none,
   * so forwarded headers are ignored and a client cannot pick the URL it is checked against.
   * Ignored when `publicUrl` or `requestUrl` is set.
   */
  trustedProxies?: string[];
  /**
   * Which forwarded headers the trusted proxies set: `x-forwarded` (`X-Forwarded-Proto` and
   * `X-Forwarded-Host`, the default) or `forwarded` (RFC 7239). Only that family is read, both
   * scheme and host from it, so a client cannot add the other family through a proxy that
   * passes it along. A missing forwarded host falls back to the `Host` header.
   */
  forwardedHeaders?: 'x-forwarded' | 'forwarded';
  /**
   * Also refuse the `DPoP` scheme with a token that is not DPoP-bound (RFC 9449 §7.1: the
   * scheme is for bound tokens). Default `false`. A bound token under `Bearer` is refused
   * anyway unless {@link allowBearerBoundTokens} is set, which contradicts this option.
   */
  strictAuthorizationScheme?: boolean;
  /**
   * Compatibility setting: accept a DPoP-bound token sent as `Authorization: Bearer` when it
   * comes with a valid proof from its key, as the ARCP spec's clients send it. Default `false`:
   * RFC 9449 §7.2 says a resource server that supports both schemes MUST refuse a bound token
   * received as a bearer token (`ERR_DPOP_SCHEME_MISMATCH`, `invalid_token`). A bound token
   * without a proof is refused either way. Prefer the `DPoP` scheme in clients.
   */
  allowBearerBoundTokens?: boolean;
  /**
   * Server-provided nonces (RFC 9449 §8, `DPOP_NONCE_REQUIRED`): `true` or nonce settings to
   * require one in every proof. A proof without the current nonce is refused with
   * `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a fresh `DPoP-Nonce` header (400
   * `{"error":"use_dpop_nonce"}` on `@DPoPTokenEndpoint()` routes). With `routesOnly: true`
   * (`DPOP_NONCE_REQUIRED=routes`) nonces are required only on routes whose settings say
   * `nonce: true`; routes may say `nonce: false` to lift a module-wide requirement. Default: off
   * (and a route with `nonce: true` stops the start-up).
   */
  nonce?: boolean | DPoPNonceOptions;
  /**
   * Full control over the URL `htu` is compared with (query and fragment are ignored).
   * Wins over `publicUrl`. Return `undefined` to refuse the request as unverifiable.
   */
  requestUrl?: (request: DPoPHttpRequest) => string | undefined;
  /**
   * Reads the DPoP binding (`cnf.jkt`) of an access token. Default: decodes a JWT's payload
   * without verifying it. That is safe for the binding check because the application must
   * verify the token's signature anyway (the binding is only as good as that), and a tampered
   * `cnf` fails that verification. Supply this for opaque tokens (e.g. introspection). When it
   * throws, the token is refused (401 `ERR_DPOP_TOKEN_BINDING_INVALID`); throw
   * `TokenBindingUnavailableError` when its source is down (503, `Retry-After`).
   */
  resolveTokenBinding?: (accessToken: string) => string | undefined | Promise<string | undefined>;
  /**
   * Base URI of problem `type`s (`type` = base + slug, e.g. `dpop-invalid`). Default
   * `urn:nest-dpop:problem:`; set your own documentation URL, e.g. `https://example.com/problems/`.
   */
  problemTypeBase?: string;
  /** Request property the verified proof is put on. Default `dpop` (`req.dpop`). */
  requestProperty?: string;
  /** Longest `DPoP` header accepted, in characters. Default 8192. */
  maxProofLength?: number;
  /** How many imported proof keys are cached (keyed by the exact JWS header). Default 1000. */
  keyCacheSize?: number;
  /** Clock in milliseconds since the epoch, for tests. Default `Date.now`. */
  clock?: () => number;
  /**
   * Also read the `DPOP_*` environment variables (see `dpopOptionsFromEnv`), from `process.env`
   * (`true`) or the object given; options set here win over the environment. Read when the
   * module's providers are built, so a bad value stops Nest's start-up with a message naming the
   * variable instead of throwing while your modules are imported. Default `false`.
   */
  fromEnv?: boolean | Record<string, string | undefined>;
  /**
   * Receivers of every verification outcome (accepted, refused with its code, store unavailable,
   * nonce issued): metrics, tracing, audit. See `DPoPEvents` to subscribe from a provider.
   */
  listeners?: DPoPEventListener[];
  /**
   * Log refusals at debug level through Nest's `Logger` (context `DPoPGuard`: code, key
   * thumbprint, method, route, client). Default `true`: the first refusal of each code in a
   * minute, then one line per minute with the count of each code (never a line per request);
   * `'each'`: one line per refusal; `false`: none. Metrics and audit: see `listeners`.
   */
  logRefusals?: boolean | 'each';
  /**
   * Metadata keys that mark a route public in your app (e.g. the `IS_PUBLIC_KEY` of your own
   * `@Public()` decorator, set with `SetMetadata(IS_PUBLIC_KEY, true)`): a truthy value on the
   * method or its class is honoured as `@SkipDPoP()` there, so one decorator says "public" to
   * every guard. Default: none.
   */
  publicRouteMetadata?: (string | symbol)[];
  /**
   * The public origins of this service (`scheme://host[:port]`, e.g.
   * `['https://api.example.com', 'https://api.example.net:8443']`). The URL `htu` is compared
   * with must have one of them (scheme, host and port), whatever it is built from (the `Host`
   * header, trusted forwarded headers or `requestUrl`); any other is refused with
   * `ERR_DPOP_HTU_MISMATCH`, so a proof made for another server with the same path does not pass
   * here. `publicUrl` is the one-origin case: with both set, the origin of `publicUrl` must be
   * listed (a contradiction stops the start-up). Default: none, and unless `publicUrl` or
   * `requestUrl` is set, a start-up warning names this setting.
   */
  allowedOrigins?: string[];
  /**
   * New proofs a client may have recorded, for proofs without an access token the library
   * verified (see {@link DPoPProofBudgetOptions}): past it 429 `ERR_DPOP_RATE_LIMITED` with
   * `Retry-After` to that client only. Default on: 10,000 per client address and per key per
   * 60 s. `false` turns it off.
   */
  proofBudget?: DPoPProofBudgetOptions | false;
  /**
   * Verify access tokens in the guard (JWT by signature, opaque by RFC 7662 introspection), so
   * that `cnf.jkt` is read only from a verified token and its claims are on the request
   * (`@AccessTokenClaims()`, `@RequiredScopes()`). See {@link DPoPAccessTokenOptions}. Default:
   * none: the guard reads `cnf.jkt` without verifying the token (`resolveTokenBinding`), and the
   * application's own auth must verify it (a start-up warning says so for `@DPoPBound()` routes).
   */
  accessToken?: DPoPAccessTokenOptions;
  /**
   * Publish RFC 9728 Protected Resource Metadata for one resource (or several): served at its
   * well-known URL (`/.well-known/oauth-protected-resource` + the resource's path), and named
   * in every challenge (`resource_metadata`, RFC 9728 §5.1). URLs come from this option,
   * `publicUrl` and `allowedOrigins`, never from a request. Default: none.
   */
  protectedResource?: ProtectedResourceMetadataOptions | ProtectedResourceMetadataOptions[];
}

/** {@link DPoPModuleOptions} with defaults applied and values checked; built once at start-up. */
export interface ResolvedDPoPOptions {
  readonly enabled: boolean;
  readonly required: boolean;
  readonly proofTtl: number;
  readonly clockSkew: number;
  readonly algorithms: readonly DPoPAlgorithm[];
  readonly store: JtiStore | undefined;
  readonly publicUrl: string | undefined;
  readonly requestUrl: ((request: DPoPHttpRequest) => string | undefined) | undefined;
  readonly trustedProxies: readonly string[];
  readonly forwardedHeaders: 'x-forwarded' | 'forwarded';
  readonly strictAuthorizationScheme: boolean;
  readonly allowBearerBoundTokens: boolean;
  /** The nonce issuer when nonces are required module-wide, else `undefined`. */
  readonly nonces: DPoPNonceIssuer | undefined;
  /**
   * The nonce issuer of routes that require nonces on their own (`nonce: true`) when nonces are
   * not required module-wide (`nonce: { routesOnly: true }`), else `undefined`.
   */
  readonly routeNonces: DPoPNonceIssuer | undefined;
  readonly resolveTokenBinding:
    ((accessToken: string) => string | undefined | Promise<string | undefined>) | undefined;
  readonly problemTypeBase: string;
  readonly requestProperty: string;
  readonly maxProofLength: number;
  readonly keyCacheSize: number;
  readonly clock: () => number;
  readonly listeners: readonly DPoPEventListener[];
  readonly logRefusals: boolean | 'each';
  /** `publicRouteMetadata`; empty when none is set. */
  readonly publicRouteMetadata: readonly (string | symbol)[];
  readonly proofBudget: DPoPProofBudgetOptions | false | undefined;
  /** `allowedOrigins` as `URL.origin` spells them; empty when none is set. */
  readonly allowedOrigins: readonly string[];
  /**
   * Access-token verification, when configured.
   * @internal The library's own compiled form of `accessToken` (its shape may change).
   */
  readonly accessToken: ResolvedAccessTokenOptions | undefined;
  /**
   * The RFC 9728 documents to publish (empty when none).
   * @internal The library's own compiled form of `protectedResource` (its shape may change).
   */
  readonly protectedResources: readonly PublishedResourceMetadata[];
  /** The metadata URL to name in a challenge for a request path, if any. */
  readonly resourceMetadataUrl: (path: string | undefined) => string | undefined;
  /**
   * The resource identifier a verified token's `aud` must name at a request path, when several
   * resources are published; `undefined` (no function) when the module-wide `audience` is the
   * whole rule.
   */
  readonly resourceAudience: ((path: string | undefined) => string | undefined) | undefined;
}
