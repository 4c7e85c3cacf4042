/**
 * A public JSON Web Key as this library accepts it for local token verification (RFC 7517).
 * Only the public members are read.
 */
export interface AccessTokenJwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

/**
 * RFC 7662 introspection of opaque access tokens: where, and how this resource server
 * authenticates itself to the authorization server.
 */
export interface AccessTokenIntrospectionOptions {
  /**
   * The introspection endpoint. Default: the `introspection_endpoint` of the issuer's metadata
   * (RFC 8414, then OpenID discovery), which needs `issuer`.
   */
  endpoint?: string;
  /** This resource server's client id at the authorization server. */
  clientId: string;
  /** Its client secret. */
  clientSecret: string;
  /** How the client authenticates (RFC 7591 §2). Default `client_secret_basic`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * Longest time an active answer is reused, in seconds (never past the token's `exp`).
   * Default 60.
   */
  cacheTtl?: number;
  /** How long an inactive answer is reused, in seconds (a short negative cache). Default 5. */
  negativeCacheTtl?: number;
}

/**
 * Access-token verification by the library (`DPoPModule.forRoot({ accessToken: … })`): JWT
 * access tokens (RFC 9068 or plain JWTs) by signature, opaque ones by introspection (RFC 7662).
 * Once verified, `cnf.jkt` is read only from the verified token, and its claims are on the
 * request (`@AccessTokenClaims()`).
 *
 * Keys for JWTs, first match wins: `secret` for `HS*` tokens; `keys` (local); `jwksUri`; else the
 * `jwks_uri` of the issuer's metadata. Tokens that are not JWTs, or all tokens when no JWT key
 * source is configured, are introspected when `introspection` is set, else refused.
 */
export interface DPoPAccessTokenOptions {
  /**
   * The resource identifier(s) of this server (RFC 8707): a token's `aud` must contain one.
   * Required.
   */
  audience: string | string[];
  /**
   * The authorization server's issuer identifier: the `iss` every token must carry, and where
   * keys and the introspection endpoint are discovered (RFC 8414
   * `/.well-known/oauth-authorization-server`, then OpenID discovery). Required unless `keys`,
   * `jwksUri` or `secret` come with an explicit introspection `endpoint` (or no introspection).
   */
  issuer?: string;
  /** The JWK Set URL of the issuer. Default: the `jwks_uri` of the issuer's metadata. */
  jwksUri?: string;
  /** Local public keys (a JWK Set or a list of JWKs), e.g. the app's own signing key. */
  keys?: { keys: AccessTokenJwk[] } | AccessTokenJwk[];
  /**
   * A shared secret for `HS256`/`HS384`/`HS512` tokens. Without it, HMAC tokens are refused
   * whatever `algorithms` says.
   */
  secret?: string | Uint8Array;
  /**
   * Accepted JWT `alg` values. Default `['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519']`, plus
   * `HS256` when a `secret` is set. `none` is never accepted.
   */
  algorithms?: string[];
  /**
   * Require RFC 9068's `typ: "at+jwt"` (`application/at+jwt`). Default `false`: plain JWTs are
   * accepted too (many issuers send `typ: "JWT"`).
   */
  requireJwtType?: boolean;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockTolerance?: number;
  /** RFC 7662 introspection for opaque tokens. Default: none (opaque tokens are refused). */
  introspection?: AccessTokenIntrospectionOptions;
  /** Timeout of each request to the issuer (metadata, JWKS, introspection), in seconds. Default 5. */
  timeout?: number;
  /** Least time between two JWKS fetches for an unknown `kid`, in seconds. Default 30. */
  jwksCooldown?: number;
  /** Longest time metadata and a JWK Set are used before they are fetched again, in seconds. Default 600. */
  cacheMaxAge?: number;
  /** Verified tokens remembered (each until its `exp`), per module. Default 10000. */
  cacheSize?: number;
  /** Request property the verified token is put on. Default `accessToken` (`req.accessToken`). */
  requestProperty?: string;
}
