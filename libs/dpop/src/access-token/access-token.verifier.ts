import type { JWTPayload } from 'jose' with { 'resolution-mode': 'import' };
import { DPoPError } from '../errors/dpop.errors.js';
import { AccessTokenClaimsCache } from './access-token-claims.cache.js';
import type { VerifiedAccessToken } from './access-token.types.js';
import { IntrospectionClient } from './introspection.client.js';
import { IssuerMetadataClient } from './issuer-metadata.client.js';
import { JwtAccessTokenVerifier } from './jwt-access-token.verifier.js';
import type { ResolvedAccessTokenOptions } from './access-token-options.resolver.js';

/** A JWS compact serialization: three base64url segments, the first a JSON object (`ey…`). */
const JWT_SHAPE = /^ey[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * Verifies access tokens once and remembers the result per token string: JWTs by signature
 * ({@link JwtAccessTokenVerifier}), other tokens (or all, with no JWT key source) by RFC 7662
 * introspection ({@link IntrospectionClient}). A token the client reuses costs a map lookup,
 * so a request pays one signature: its proof's.
 *
 * Cached answers never outlive the token's `exp` (plus the leeway); introspection answers are
 * reused at most `cacheTtl`, inactive ones `negativeCacheTtl`. Concurrent first requests with
 * one token share one verification.
 */
export class AccessTokenVerifier {
  private readonly cache: AccessTokenClaimsCache<VerifiedAccessToken | DPoPError>;
  private readonly pending = new Map<string, Promise<VerifiedAccessToken>>();
  private readonly jwt: JwtAccessTokenVerifier | undefined;
  private readonly introspection: IntrospectionClient | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: ResolvedAccessTokenOptions) {
    this.clock = options.jwt.clock;
    const metadata =
      options.issuer === undefined || !options.discovery
        ? undefined
        : new IssuerMetadataClient(options.issuer, {
            timeoutMs: options.jwt.timeoutMs,
            maxAgeMs: options.jwt.cacheMaxAgeMs,
            clock: this.clock,
          });
    // The issuer's metadata gives the jwks_uri only when neither keys nor jwksUri is configured.
    const keysFromMetadata =
      options.jwt.keys === undefined && options.jwt.jwksUri === undefined ? metadata : undefined;
    const jwtKeys =
      options.jwt.keys !== undefined ||
      options.jwt.jwksUri !== undefined ||
      options.jwt.secret !== undefined ||
      keysFromMetadata !== undefined;
    this.jwt = jwtKeys ? new JwtAccessTokenVerifier(options.jwt, keysFromMetadata) : undefined;
    this.introspection =
      options.introspection === undefined
        ? undefined
        : new IntrospectionClient(options.introspection, metadata);
    this.cache = new AccessTokenClaimsCache(options.cacheSize);
  }

  /** The verified token from the cache, if it holds one still valid now; else `undefined`. */
  cached(token: string): VerifiedAccessToken | undefined {
    const cached = this.cache.get(token, this.clock());
    return cached instanceof DPoPError ? undefined : cached;
  }

  /**
   * The verified token.
   * @throws {DPoPError} `ERR_DPOP_TOKEN_INVALID` / `ERR_DPOP_TOKEN_EXPIRED` (401),
   *   `ERR_DPOP_ISSUER_UNAVAILABLE` (503)
   */
  verify(token: string): Promise<VerifiedAccessToken> {
    const now = this.clock();
    const cached = this.cache.get(token, now);
    if (cached !== undefined) {
      return cached instanceof DPoPError ? Promise.reject(cached) : Promise.resolve(cached);
    }
    let pending = this.pending.get(token);
    if (pending === undefined) {
      pending = this.verifyNow(token).finally(() => this.pending.delete(token));
      this.pending.set(token, pending);
    }
    return pending;
  }

  /**
   * Whether {@link verify} would ask the introspection endpoint about `token` (not a JWT this
   * verifier checks itself, and not remembered), so that the caller can check what it can first.
   */
  wouldIntrospect(token: string): boolean {
    return (
      this.introspection !== undefined &&
      !(this.jwt !== undefined && JWT_SHAPE.test(token)) &&
      this.cache.get(token, this.clock()) === undefined &&
      !this.pending.has(token)
    );
  }

  private async verifyNow(token: string): Promise<VerifiedAccessToken> {
    const tolerance = this.options.jwt.clockTolerance * 1000;
    if (this.jwt !== undefined && JWT_SHAPE.test(token)) {
      const payload = await this.jwt.verify(token);
      const verified = describe('jwt', payload);
      // `exp` is required of JWTs, so the entry always ends.
      this.cache.set(token, verified, (verified.exp ?? 0) * 1000 + tolerance);
      return verified;
    }
    if (this.introspection === undefined) {
      throw new DPoPError(
        'ERR_DPOP_TOKEN_INVALID',
        'The access token is invalid: not a JWT, and opaque tokens are not accepted here',
      );
    }
    const response = await this.introspection.introspect(token);
    const now = this.clock();
    try {
      const verified = this.checkIntrospection(response, now);
      const until = Math.min(
        now + this.options.introspection!.cacheTtlMs,
        verified.exp === undefined ? Number.POSITIVE_INFINITY : verified.exp * 1000 + tolerance,
      );
      this.cache.set(token, verified, until);
      return verified;
    } catch (error) {
      if (error instanceof DPoPError) {
        this.cache.set(token, error, now + this.options.introspection!.negativeCacheTtlMs);
      }
      throw error;
    }
  }

  /** RFC 7662 §2.2: `active`, then the claims a JWT would have had checked. */
  private checkIntrospection(response: Record<string, unknown>, now: number): VerifiedAccessToken {
    const invalid = (why: string) =>
      new DPoPError('ERR_DPOP_TOKEN_INVALID', `The access token is invalid: ${why}`);
    if (response.active !== true) throw invalid('it is not active');
    const tolerance = this.options.jwt.clockTolerance;
    const seconds = now / 1000;
    const { exp, nbf, iss, aud, token_type: tokenType } = response;
    if (exp !== undefined) {
      if (typeof exp !== 'number') throw invalid('exp is not a number');
      if (seconds > exp + tolerance) {
        throw new DPoPError('ERR_DPOP_TOKEN_EXPIRED', 'The access token has expired');
      }
    }
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf - tolerance > seconds)) {
      throw invalid('nbf check failed');
    }
    if (this.options.issuer !== undefined && iss !== undefined && iss !== this.options.issuer) {
      throw invalid('iss check failed');
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((a) => this.options.audience.includes(a as string))) {
      throw new DPoPError(
        'ERR_DPOP_TOKEN_INVALID',
        'The access token is invalid: aud check failed',
        {
          claim: 'aud',
        },
      );
    }
    if (
      tokenType !== undefined &&
      !(typeof tokenType === 'string' && /^(?:dpop|bearer)$/i.test(tokenType))
    ) {
      throw invalid('token_type is not an access token type');
    }
    return describe('introspection', response);
  }
}

/** The common members of verified claims, read once. */
function describe(
  format: VerifiedAccessToken['format'],
  claims: JWTPayload | Record<string, unknown>,
): VerifiedAccessToken {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const cnf = claims.cnf as { jkt?: unknown } | null | undefined;
  const scope = claims.scope;
  const scp = claims.scp;
  const scopes =
    typeof scope === 'string'
      ? scope.split(' ').filter((s) => s !== '')
      : Array.isArray(scp)
        ? scp.filter((s): s is string => typeof s === 'string')
        : [];
  const verified: {
    -readonly [K in keyof VerifiedAccessToken]: VerifiedAccessToken[K];
  } = { format, claims, scopes };
  const sub = text(claims.sub);
  const clientId = text(claims.client_id);
  const iss = text(claims.iss);
  const jkt = typeof cnf === 'object' && cnf !== null ? text(cnf.jkt) : undefined;
  if (sub !== undefined) verified.sub = sub;
  if (clientId !== undefined) verified.clientId = clientId;
  if (iss !== undefined) verified.iss = iss;
  if (jkt !== undefined) verified.jkt = jkt;
  if (typeof claims.exp === 'number') verified.exp = claims.exp;
  return verified;
}

/** One verifier (and so one cache) per resolved module options, shared by every guard instance. */
const verifiers = new WeakMap<ResolvedAccessTokenOptions, AccessTokenVerifier>();

/** The verifier of these options, made on first use. */
export function accessTokenVerifierFor(options: ResolvedAccessTokenOptions): AccessTokenVerifier {
  let verifier = verifiers.get(options);
  if (verifier === undefined) verifiers.set(options, (verifier = new AccessTokenVerifier(options)));
  return verifier;
}
