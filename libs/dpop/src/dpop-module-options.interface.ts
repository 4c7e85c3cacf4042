import type { DPoPAlgorithm } from './dpop.constants.js';
import type { DPoPNonceIssuer, DPoPNonceOptions } from './dpop-nonce.issuer.js';
import type { JtiStore } from './jti-store.interface.js';

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
  /** `DPOP_ALGORITHMS`: accepted proof `alg` values. Default `['EdDSA', 'ES256', 'RS256']`. */
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
   * RFC 9449 §7.1 to the letter: a DPoP-bound token must come with the `DPoP` scheme (never
   * `Bearer`, even with a proof), and the `DPoP` scheme must carry a bound token. Default
   * `false`, because ARCP clients send `Bearer` with a proof; a bound token without a proof is
   * refused either way.
   */
  strictAuthorizationScheme?: boolean;
  /**
   * Server-provided nonces (RFC 9449 §8, `DPOP_NONCE_REQUIRED`): `true` or nonce settings to
   * require one in every proof. A proof without the current nonce is refused with
   * `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a fresh `DPoP-Nonce` header (400
   * `{"error":"use_dpop_nonce"}` on `@DPoPTokenEndpoint()` routes). Default: off.
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
   * `cnf` fails that verification. Supply this for opaque tokens (e.g. introspection).
   */
  resolveTokenBinding?: (accessToken: string) => string | undefined | Promise<string | undefined>;
  /** Base URI of problem `type`s. Default `https://arcp.0x001.tech/docs/problems/`. */
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
  /** The nonce issuer when nonces are required, else `undefined`. */
  readonly nonces: DPoPNonceIssuer | undefined;
  readonly resolveTokenBinding:
    ((accessToken: string) => string | undefined | Promise<string | undefined>) | undefined;
  readonly problemTypeBase: string;
  readonly requestProperty: string;
  readonly maxProofLength: number;
  readonly keyCacheSize: number;
  readonly clock: () => number;
  /** `allowedOrigins` as `URL.origin` spells them; empty when none is set. */
  readonly allowedOrigins: readonly string[];
}
