import { createHmac, KeyObject, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import type {
  CompactJWSHeaderParameters,
  CryptoKey,
  FlattenedJWSInput,
  JWTPayload,
  JWTVerifyGetKey,
} from 'jose' with { 'resolution-mode': 'import' };
import { algorithmProfile, type AlgorithmProfile } from '../verifier/proof-jwk.util.js';
import type { DPoPAlgorithm } from '../verifier/dpop-algorithms.table.js';
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

/** `node:crypto`'s key type for each JWK `kty` of an asymmetric algorithm. */
const KEY_TYPES: Record<AlgorithmProfile['kty'], readonly string[]> = {
  EC: ['ec'],
  RSA: ['rsa', 'rsa-pss'],
  OKP: ['ed25519', 'ed448'],
};

/** The HMAC hash of each `HS*` algorithm. */
const HMAC_HASHES: Readonly<Record<string, string>> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
};

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
 * Verifies JWT access tokens (RFC 9068 or plain JWTs): signature by a key of the allowed
 * algorithms (never `none`; HMAC only with a configured secret), then `iss`, `aud`, `exp`
 * (required) and `nbf` with a leeway, and RFC 9068's `typ` when asked.
 *
 * Keys come from `jose` (the secret for `HS*`, local keys, then the remote JWK Set: the
 * configured `jwks_uri` or the issuer's metadata): its remote set refetches for an unknown `kid`
 * at most once per cooldown, with a timeout; a JWK Set that cannot be fetched is
 * `ERR_DPOP_ISSUER_UNAVAILABLE`. The signature itself is checked with `node:crypto`, synchronously,
 * as the proof's is: measured here, `jose`'s `jwtVerify` cost 1.8 times the CPU of one
 * `crypto.verify` (135 µs against 75 µs for ES256), most of it WebCrypto's hand-off to the
 * thread pool, and a first-seen token should cost one signature more, not two.
 */
export class JwtAccessTokenVerifier {
  /** Made at the first verification, once `jose` is loaded (see jose.loader.ts). */
  private local: JWTVerifyGetKey | undefined;
  private remote: { readonly uri: string; readonly getKey: JWTVerifyGetKey } | undefined;
  private readonly profiles: ReadonlyMap<string, AlgorithmProfile>;
  private readonly hmac: ReadonlySet<string>;
  /** `node:crypto` keys of the `CryptoKey`s jose hands out (it keeps those per JWK). */
  private readonly keyObjects = new WeakMap<CryptoKey, KeyObject>();

  constructor(
    private readonly settings: JwtAccessTokenVerifierSettings,
    private readonly metadata: IssuerMetadataClient | undefined,
  ) {
    this.profiles = new Map(
      settings.algorithms
        .filter((alg) => HMAC_HASHES[alg] === undefined)
        .map((alg) => [alg, algorithmProfile(alg as DPoPAlgorithm)]),
    );
    this.hmac = new Set(settings.algorithms.filter((alg) => HMAC_HASHES[alg] !== undefined));
  }

  /**
   * The verified payload.
   * @throws {DPoPError} `ERR_DPOP_TOKEN_EXPIRED`, `ERR_DPOP_TOKEN_INVALID` (401) or
   *   `ERR_DPOP_ISSUER_UNAVAILABLE` (503)
   */
  async verify(token: string): Promise<JWTPayload> {
    try {
      const dot1 = token.indexOf('.');
      const dot2 = token.indexOf('.', dot1 + 1);
      if (dot1 <= 0 || dot2 <= dot1 || token.indexOf('.', dot2 + 1) !== -1) {
        throw invalid('not a compact JWS');
      }
      const header = jsonObject(token.slice(0, dot1));
      if (header === undefined) throw invalid('not a valid JWS');
      const alg = header.alg;
      if (typeof alg !== 'string' || !(this.profiles.has(alg) || this.hmac.has(alg))) {
        throw invalid('alg is not allowed');
      }
      // RFC 7515 §4.1.11: extensions we do not understand must be refused; we understand none.
      if (header.crit !== undefined) throw invalid('crit is not supported');
      if (this.settings.requireJwtType && !isAccessTokenType(header.typ)) {
        throw invalid('typ must be at+jwt (RFC 9068)');
      }
      const input = Buffer.from(token.slice(0, dot2), 'latin1');
      const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
      const hash = HMAC_HASHES[alg];
      if (hash !== undefined) {
        if (this.settings.secret === undefined) throw invalid('alg is not allowed');
        const expected = createHmac(hash, this.settings.secret).update(input).digest();
        if (expected.length !== signature.length || !timingSafeEqual(expected, signature)) {
          throw invalid('signature verification failed');
        }
      } else {
        const profile = this.profiles.get(alg)!;
        if (this.settings.keys !== undefined && this.local === undefined) {
          const jose = await loadJose();
          this.local ??= jose.createLocalJWKSet({
            keys: this.settings.keys.map((jwk) => ({ ...jwk })),
          });
        }
        const key = await this.keyFor(header as CompactJWSHeaderParameters, {
          protected: token.slice(0, dot1),
          payload: token.slice(dot1 + 1, dot2),
          signature: token.slice(dot2 + 1),
        });
        const keyObject = this.keyObjectOf(key);
        if (
          keyObject === undefined ||
          !KEY_TYPES[profile.kty].includes(keyObject.asymmetricKeyType ?? '')
        ) {
          throw invalid('no key of the issuer matches');
        }
        let valid: boolean;
        try {
          valid = verifySignature(
            profile.digest,
            input,
            profile.keyOptions === undefined
              ? keyObject
              : { key: keyObject, ...profile.keyOptions },
            signature,
          );
        } catch {
          valid = false;
        }
        if (!valid) throw invalid('signature verification failed');
      }
      const payload = jsonObject(token.slice(dot1 + 1, dot2));
      if (payload === undefined) throw invalid('the payload is not a JSON object');
      this.checkClaims(payload);
      return payload;
    } catch (error) {
      throw tokenError(error);
    }
  }

  /**
   * RFC 7519 §4.1: `exp` (required), `nbf`, `iss`, `aud`, with the leeway. The audience comes
   * last: a refusal naming `claim: 'aud'` is of a genuine, current token of the issuer that is
   * meant for another resource (an app with one audience per route may answer it with a 403).
   */
  private checkClaims(payload: Record<string, unknown>): void {
    const s = this.settings;
    const now = s.clock() / 1000;
    const { exp, nbf, iat, iss, aud } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('exp check failed');
    if (now > exp + s.clockTolerance) {
      throw new DPoPError('ERR_DPOP_TOKEN_EXPIRED', 'The access token has expired');
    }
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + s.clockTolerance)) {
      throw invalid('nbf check failed');
    }
    if (iat !== undefined && typeof iat !== 'number') throw invalid('iat check failed');
    if (s.issuer !== undefined && iss !== s.issuer) throw invalid('iss check failed');
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((a) => typeof a === 'string' && s.audience.includes(a))) {
      throw new DPoPError(
        'ERR_DPOP_TOKEN_INVALID',
        'The access token is invalid: aud check failed',
        {
          claim: 'aud',
        },
      );
    }
  }

  private keyObjectOf(key: Key): KeyObject | undefined {
    if (key instanceof KeyObject) return key.type === 'public' ? key : undefined;
    if (key instanceof Uint8Array) return undefined;
    let keyObject = this.keyObjects.get(key);
    if (keyObject === undefined) {
      keyObject = KeyObject.from(key);
      this.keyObjects.set(key, keyObject);
    }
    return keyObject.type === 'public' ? keyObject : undefined;
  }

  private async keyFor(header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<Key> {
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

function invalid(why: string): DPoPError {
  return new DPoPError('ERR_DPOP_TOKEN_INVALID', `The access token is invalid: ${why}`);
}

/** RFC 9068 §2.1: `at+jwt`, or its full media type, compared without case. */
function isAccessTokenType(typ: unknown): boolean {
  return typeof typ === 'string' && /^(?:application\/)?at\+jwt$/i.test(typ);
}

/** A base64url segment holding a JSON object, or `undefined`. */
function jsonObject(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
