import type {
  FlattenedJWSInput,
  CompactJWSHeaderParameters,
  JWTPayload,
  JWTVerifyGetKey,
  CryptoKey,
  KeyObject,
} from 'jose' with { 'resolution-mode': 'import' };
import { DPoPError } from '../errors/dpop.errors.js';
import type { IssuerMetadataClient } from './issuer-metadata.client.js';
import type { AccessTokenJwk } from './access-token-options.interface.js';
import { JOSE_ERROR_CODES as CODES, loadJose, type Jose } from './jose.loader.js';

/** What {@link JwtAccessTokenVerifier} needs, resolved from the module options. */
export interface JwtAccessTokenVerifierSettings {
  readonly audience: readonly string[];
  readonly issuer: string | undefined;
  readonly algorithms: readonly string[];
  readonly requireJwtType: boolean;
  /** Seconds. */
  readonly clockTolerance: number;
  readonly jwksUri: string | undefined;
  readonly keys: readonly AccessTokenJwk[] | undefined;
  readonly secret: Uint8Array | undefined;
  readonly timeoutMs: number;
  readonly jwksCooldownMs: number;
  readonly cacheMaxAgeMs: number;
  readonly clock: () => number;
}

type Key = CryptoKey | KeyObject | Uint8Array;

/** jose error codes that say the token is bad (a 401); anything else is the issuer's side (503). */
const TOKEN_FAULTS = new Set<string>([
  CODES.JWTClaimValidationFailed,
  CODES.JWSSignatureVerificationFailed,
  CODES.JWKSNoMatchingKey,
  CODES.JWKSMultipleMatchingKeys,
  CODES.JOSEAlgNotAllowed,
  CODES.JOSENotSupported,
  CODES.JWSInvalid,
  CODES.JWTInvalid,
  CODES.JWKInvalid,
]);

/**
 * Verifies JWT access tokens (RFC 9068 or plain JWTs) with `jose`: signature by a key of the
 * allowed algorithms (never `none`; HMAC only with a configured secret), then `iss`, `aud`,
 * `exp` (required) and `nbf` with a leeway, and RFC 9068's `typ` when asked.
 *
 * Keys: the secret for `HS*`, local keys, then the remote JWK Set (the configured `jwks_uri` or
 * the issuer's metadata). `jose`'s remote set refetches for an unknown `kid` at most once per
 * cooldown, with a timeout; a JWK Set that cannot be fetched is `ERR_DPOP_ISSUER_UNAVAILABLE`.
 */
export class JwtAccessTokenVerifier {
  /** Made at the first verification, once `jose` is loaded (see jose.loader.ts). */
  private local: JWTVerifyGetKey | undefined;
  private remote: { readonly uri: string; readonly getKey: JWTVerifyGetKey } | undefined;
  private readonly getKey: JWTVerifyGetKey;

  constructor(
    private readonly settings: JwtAccessTokenVerifierSettings,
    private readonly metadata: IssuerMetadataClient | undefined,
  ) {
    this.getKey = (header, token) => this.keyFor(header, token);
  }

  /** Whether a remote or local key source exists (else only the secret, if any). */
  get hasKeySource(): boolean {
    return (
      this.settings.keys !== undefined ||
      this.settings.jwksUri !== undefined ||
      this.settings.secret !== undefined ||
      this.metadata !== undefined
    );
  }

  /**
   * The verified payload.
   * @throws {DPoPError} `ERR_DPOP_TOKEN_EXPIRED`, `ERR_DPOP_TOKEN_INVALID` (401) or
   *   `ERR_DPOP_ISSUER_UNAVAILABLE` (503)
   */
  async verify(token: string): Promise<JWTPayload> {
    const s = this.settings;
    try {
      const jose = await loadJose();
      if (s.keys !== undefined && this.local === undefined) {
        this.local = jose.createLocalJWKSet({ keys: s.keys.map((jwk) => ({ ...jwk })) });
      }
      const { payload } = await jose.jwtVerify(token, this.getKey, {
        algorithms: [...s.algorithms],
        audience: [...s.audience],
        ...(s.issuer !== undefined && { issuer: s.issuer }),
        ...(s.requireJwtType && { typ: 'at+jwt' }),
        clockTolerance: s.clockTolerance,
        currentDate: new Date(s.clock()),
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (error) {
      throw tokenError(error);
    }
  }

  private async keyFor(header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<Key> {
    if (header.alg?.startsWith('HS')) {
      // Only reachable when an HS algorithm is allowed, which needs a secret (checked at start-up).
      if (this.settings.secret === undefined)
        throw new (await loadJose()).errors.JOSEAlgNotAllowed('HMAC');
      return this.settings.secret;
    }
    if (this.local !== undefined) {
      try {
        return (await this.local(header, token)) as Key;
      } catch (error) {
        if (codeOf(error) !== CODES.JWKSNoMatchingKey || !this.hasRemote) throw error;
      }
    }
    const remote = await this.remoteKeys();
    if (remote === undefined) throw new (await loadJose()).errors.JWKSNoMatchingKey();
    return (await remote(header, token)) as Key;
  }

  private get hasRemote(): boolean {
    return this.settings.jwksUri !== undefined || this.metadata !== undefined;
  }

  /** The remote JWK Set, made once per `jwks_uri` (the metadata may name a new one). */
  private async remoteKeys(): Promise<JWTVerifyGetKey | undefined> {
    let uri = this.settings.jwksUri;
    if (uri === undefined && this.metadata !== undefined) {
      uri = (await this.metadata.get()).jwks_uri;
      if (uri === undefined) {
        throw new DPoPError(
          'ERR_DPOP_ISSUER_UNAVAILABLE',
          'The authorization server metadata has no jwks_uri',
        );
      }
    }
    if (uri === undefined) return undefined;
    if (this.remote?.uri !== uri) {
      const jose: Jose = await loadJose();
      this.remote = {
        uri,
        getKey: jose.createRemoteJWKSet(new URL(uri), {
          timeoutDuration: this.settings.timeoutMs,
          cooldownDuration: this.settings.jwksCooldownMs,
          cacheMaxAge: this.settings.cacheMaxAgeMs,
        }),
      };
    }
    return this.remote.getKey;
  }
}

/** The refusal for a `jose` error: the token's fault (401) or the issuer's (503). */
function tokenError(error: unknown): DPoPError {
  if (error instanceof DPoPError) return error;
  const code = codeOf(error);
  if (code === CODES.JWTExpired) {
    return new DPoPError('ERR_DPOP_TOKEN_EXPIRED', 'The access token has expired', {
      cause: error,
    });
  }
  if (typeof code === 'string' && TOKEN_FAULTS.has(code)) {
    return new DPoPError(
      'ERR_DPOP_TOKEN_INVALID',
      `The access token is invalid: ${reason(error)}`,
      {
        cause: error,
      },
    );
  }
  return new DPoPError(
    'ERR_DPOP_ISSUER_UNAVAILABLE',
    "The authorization server's keys could not be read; try again later",
    { cause: error, retryAfter: 1 },
  );
}

/** A short reason that never quotes the token: jose's messages name the failed check only. */
function reason(error: unknown): string {
  const code = codeOf(error);
  if (code === CODES.JWTClaimValidationFailed) {
    const claim = (error as { claim?: unknown }).claim;
    return `${typeof claim === 'string' ? claim : 'a claim'} check failed`;
  }
  if (code === CODES.JWKSNoMatchingKey) return 'no key of the issuer matches';
  if (code === CODES.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (code === CODES.JOSEAlgNotAllowed || code === CODES.JOSENotSupported) {
    return 'alg is not allowed';
  }
  return 'not a valid JWS';
}

/** jose's stable error code (its classes are compared by code: jose is loaded lazily). */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
