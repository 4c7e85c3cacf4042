import type { DPoPAccessTokenOptions, AccessTokenJwk } from './access-token-options.interface.js';
import type { JwtAccessTokenVerifierSettings } from './jwt-access-token.verifier.js';
import type { IntrospectionClientSettings } from './introspection.client.js';

/** The default JWT `alg` allow-list: asymmetric algorithms issuers use. */
export const DEFAULT_ACCESS_TOKEN_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'];

/** Every JWS `alg` a token may be allowed to use (RFC 7518, RFC 8037, RFC 9864). */
const KNOWN_ALGORITHMS = new Set([
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/** {@link DPoPAccessTokenOptions} checked, with defaults applied; made once at start-up. */
export interface ResolvedAccessTokenOptions {
  readonly audience: readonly string[];
  readonly issuer: string | undefined;
  /**
   * Whether the issuer's metadata is read: for the JWK Set when neither `keys` nor `jwksUri` is
   * given, for the introspection endpoint when none is given. Otherwise the issuer is only the
   * `iss` tokens must carry.
   */
  readonly discovery: boolean;
  readonly jwt: JwtAccessTokenVerifierSettings;
  readonly introspection:
    (IntrospectionClientSettings & { cacheTtlMs: number; negativeCacheTtlMs: number }) | undefined;
  readonly cacheSize: number;
  readonly requestProperty: string;
}

function fail(message: string): never {
  throw new Error(`DPoP option accessToken.${message}`);
}

function httpUrl(name: string, value: unknown): string {
  if (typeof value !== 'string') fail(`${name} must be an http(s) URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value;
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`);
  return value;
}

function seconds(name: string, value: number | undefined, fallback: number, zero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (!zero && v === 0)) {
    fail(
      `${name} must be a ${zero ? 'non-negative' : 'positive'} number of seconds, got ${String(v)}`,
    );
  }
  return v;
}

/**
 * Checks the access-token options and applies the defaults, with a message naming the option.
 * @param clock the module's clock (milliseconds)
 */
export function resolveAccessTokenOptions(
  given: DPoPAccessTokenOptions,
  clock: () => number,
): ResolvedAccessTokenOptions {
  if (typeof given !== 'object' || given === null) fail('must be an object');
  const audience = typeof given.audience === 'string' ? [given.audience] : given.audience;
  if (
    !Array.isArray(audience) ||
    audience.length === 0 ||
    audience.some((a) => typeof a !== 'string' || a === '')
  ) {
    fail("audience must be this resource server's identifier (a non-empty string or list)");
  }
  const jwksUri = given.jwksUri === undefined ? undefined : httpUrl('jwksUri', given.jwksUri);
  const keys = resolveKeys(given.keys);
  // Local keys or a jwks_uri are the whole key set: an unknown kid is refused (401), not looked
  // up at the issuer, so an app that verifies its own tokens never fetches from itself. Then
  // the issuer is only the `iss` to match, any string (RFC 7519 §4.1.1: a StringOrURI).
  const discovery =
    given.issuer !== undefined &&
    ((keys === undefined && jwksUri === undefined) ||
      (given.introspection !== undefined && given.introspection.endpoint === undefined));
  const issuer =
    given.issuer === undefined
      ? undefined
      : discovery
        ? httpUrl('issuer', given.issuer)
        : nonEmpty('issuer', given.issuer);
  const secret =
    given.secret === undefined
      ? undefined
      : typeof given.secret === 'string'
        ? new TextEncoder().encode(given.secret)
        : given.secret;
  if (secret !== undefined && secret.byteLength < 32) {
    fail('secret must be at least 32 bytes long (RFC 7518 §3.2)');
  }
  const algorithms = given.algorithms ?? [
    ...DEFAULT_ACCESS_TOKEN_ALGORITHMS,
    ...(secret === undefined ? [] : ['HS256']),
  ];
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    fail('algorithms must list at least one algorithm');
  }
  for (const alg of algorithms) {
    if (!KNOWN_ALGORITHMS.has(alg)) {
      fail(`algorithms: "${String(alg)}" is not an accepted JWS algorithm (never "none")`);
    }
    if (alg.startsWith('HS') && secret === undefined) {
      fail(`algorithms: ${alg} needs a secret (HMAC tokens are refused without one)`);
    }
  }
  const introspection = given.introspection;
  if (introspection !== undefined) {
    if (typeof introspection.clientId !== 'string' || introspection.clientId === '') {
      fail('introspection.clientId must be a non-empty string');
    }
    if (typeof introspection.clientSecret !== 'string' || introspection.clientSecret === '') {
      fail('introspection.clientSecret must be a non-empty string');
    }
    if (introspection.endpoint === undefined && issuer === undefined) {
      fail('introspection needs an endpoint, or an issuer whose metadata names one');
    }
  }
  if (
    issuer === undefined &&
    jwksUri === undefined &&
    keys === undefined &&
    secret === undefined &&
    introspection === undefined
  ) {
    fail('needs a key source: issuer, jwksUri, keys, secret or introspection');
  }
  const timeout = seconds('timeout', given.timeout, 5);
  const requestProperty = given.requestProperty ?? 'accessToken';
  if (typeof requestProperty !== 'string' || requestProperty === '') {
    fail('requestProperty must be a non-empty string');
  }
  const cacheSize = given.cacheSize ?? 10_000;
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
    fail(`cacheSize must be a whole number >= 0, got ${String(cacheSize)}`);
  }
  return {
    audience,
    issuer,
    discovery,
    jwt: {
      audience,
      issuer,
      algorithms,
      requireJwtType: given.requireJwtType ?? false,
      clockTolerance: seconds('clockTolerance', given.clockTolerance, 5, true),
      jwksUri,
      keys,
      secret,
      timeoutMs: Math.ceil(timeout * 1000),
      jwksCooldownMs: seconds('jwksCooldown', given.jwksCooldown, 30, true) * 1000,
      cacheMaxAgeMs: seconds('cacheMaxAge', given.cacheMaxAge, 600) * 1000,
      clock,
    },
    introspection:
      introspection === undefined
        ? undefined
        : {
            endpoint:
              introspection.endpoint === undefined
                ? undefined
                : httpUrl('introspection.endpoint', introspection.endpoint),
            clientId: introspection.clientId,
            clientSecret: introspection.clientSecret,
            authMethod: introspection.authMethod ?? 'client_secret_basic',
            timeoutMs: Math.ceil(timeout * 1000),
            cacheTtlMs: seconds('introspection.cacheTtl', introspection.cacheTtl, 60, true) * 1000,
            negativeCacheTtlMs:
              seconds('introspection.negativeCacheTtl', introspection.negativeCacheTtl, 5, true) *
              1000,
          },
    cacheSize,
    requestProperty,
  };
}

function resolveKeys(keys: DPoPAccessTokenOptions['keys']): readonly AccessTokenJwk[] | undefined {
  if (keys === undefined) return undefined;
  const list = Array.isArray(keys) ? keys : keys?.keys;
  if (!Array.isArray(list) || list.length === 0) fail('keys must be a JWK Set or a list of JWKs');
  for (const jwk of list) {
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string') {
      fail('keys: every key must be a JWK with a kty');
    }
    if (jwk.d !== undefined || jwk.kty === 'oct') {
      fail('keys must be public keys (no private or symmetric members; use secret for HMAC)');
    }
  }
  return list;
}
