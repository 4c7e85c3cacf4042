import { verify } from 'node:crypto';
import { accessTokenHash } from '../request/access-token.util.js';
import {
  DPOP_DEFAULTS,
  assertSupportedAlgorithms,
  type DPoPAlgorithm,
} from '../options/dpop.constants.js';
import { DPoPError, NONCE_RETRY_HINT, invalidProofError } from '../errors/dpop.errors.js';
import {
  algorithmProfile,
  decodeBase64urlInto,
  importProofJwk,
  type AlgorithmProfile,
  type PreparedKey,
} from './proof-jwk.util.js';
import type { DPoPNonceIssuer } from './dpop-nonce.issuer.js';
import type {
  DPoPProofVerifierOptions,
  DPoPVerifyInput,
  VerifiedDPoPProof,
} from './dpop-proof.types.js';
import { assertCompactJws, equalStrings, isDPoPType, parseJsonObject } from './jws.util.js';
import { normalizeHttpUri } from './http-uri.util.js';
import { replayKey } from '../stores/replay-key.util.js';
import { ProofBytes } from './proof-bytes.reader.js';
import type { JtiStore } from '../stores/jti-store.interface.js';

export type { DPoPPublicJwk } from './proof-jwk.util.js';

export type {
  DPoPProofVerifierOptions,
  DPoPVerifyInput,
  VerifiedDPoPProof,
} from './dpop-proof.types.js';

/** A proof header that verified once: its key imported and thumbprinted, ready for reuse. */
interface PreparedHeader extends PreparedKey {
  readonly profile: AlgorithmProfile;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An absolute http(s) URI with no white space or backslash; query and fragment are ignored. */
const STRICT_HTU = /^https?:\/\/[^\s?#\\]+(?:[?#][^\s\\]*)?$/i;
const MAX_JTI_LENGTH = 256;

export { sha256Base64url } from './proof-jwk.util.js';

/**
 * The security core: checks a DPoP proof against a request, RFC 9449 §4.3, with no NestJS
 * inside. `DPoPGuard` adapts it to HTTP; it is just as usable on its own.
 *
 * Order, cheapest first, so that a forged or malformed proof costs little and never uses up a
 * jti: structure and header → signature → claims → token binding → replay store.
 *
 * Signatures are checked with `node:crypto` on a `KeyObject` imported once per distinct proof
 * header (agents reuse one key for many proofs, and the header is the same for all of them): a
 * bounded cache keyed by the exact header segment, filled only after a signature verified.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export class DPoPProofVerifier {
  private readonly profiles: ReadonlyMap<string, AlgorithmProfile>;
  private readonly allowedAlgs: string;
  private readonly proofTtl: number;
  private readonly clockSkew: number;
  private readonly maxProofLength: number;
  private readonly keyCacheSize: number;
  private readonly clock: () => number;
  /** Prepared headers by their exact base64url segment, oldest first (LRU by re-insertion). */
  private readonly headers = new Map<string, PreparedHeader>();
  /** Where `check()` decodes each proof (one buffer, reused: see {@link ProofBytes}). */
  private readonly proofBytes = new ProofBytes();
  /** Server nonces, when they are required (RFC 9449 §8). */
  private readonly nonces: DPoPNonceIssuer | undefined;
  /** The last entry of `headers` (its key and value), or none. */
  private newestSegment: string | undefined;
  private newestHeader: PreparedHeader | undefined;

  constructor(
    private readonly store: JtiStore | undefined,
    private readonly settings: DPoPProofVerifierOptions = {},
  ) {
    const options = settings;
    const algorithms = options.algorithms ?? DPOP_DEFAULTS.algorithms;
    assertSupportedAlgorithms(algorithms, 'DPoP algorithms');
    this.profiles = new Map(algorithms.map((alg) => [alg, algorithmProfile(alg)]));
    this.allowedAlgs = [...this.profiles.keys()].join(', ');
    this.proofTtl = options.proofTtl ?? DPOP_DEFAULTS.proofTtl;
    this.clockSkew = options.clockSkew ?? DPOP_DEFAULTS.clockSkew;
    this.maxProofLength = options.maxProofLength ?? DPOP_DEFAULTS.maxProofLength;
    this.keyCacheSize = options.keyCacheSize ?? DPOP_DEFAULTS.keyCacheSize;
    this.clock = options.clock ?? Date.now;
    this.nonces = options.nonces;
  }

  /**
   * A verifier with the same store, clock, limits and nonce issuer, and the given settings
   * changed: a route's own algorithms and window, no nonce on that route (`nonce: false`), or
   * nonces required there (`nonce: true`: the `nonces` issuer, else `routeNonces`).
   * @throws {Error} for `nonce: true` when neither issuer is set (never a verifier without it)
   */
  derive(changes: {
    algorithms?: readonly DPoPAlgorithm[];
    proofTtl?: number;
    clockSkew?: number;
    nonce?: boolean;
  }): DPoPProofVerifier {
    const { nonce, ...settings } = changes;
    let nonces = nonce === false ? undefined : this.settings.nonces;
    if (nonce === true) {
      nonces ??= this.settings.routeNonces;
      if (nonces === undefined) {
        throw new Error(
          'DPoP route option nonce: true needs a nonce issuer: set the nonce option (nonce: { secret, routesOnly: true } for such routes only)',
        );
      }
    }
    return new DPoPProofVerifier(this.store, { ...this.settings, ...settings, nonces });
  }

  /** The issuer whose nonce every proof must carry here, or `undefined` when none is required. */
  get nonceIssuer(): DPoPNonceIssuer | undefined {
    return this.nonces;
  }

  /** How long a jti is remembered, in milliseconds: the whole window in which its proof is valid. */
  get replayWindowMs(): number {
    // One second more than the window: a proof stays valid up to and including its last
    // millisecond, and its jti must outlive it.
    return (this.proofTtl + this.clockSkew + 1) * 1000;
  }

  /**
   * Every check, the replay store last.
   * @throws {DPoPError} with a stable `code`; `ERR_DPOP_STORE_UNAVAILABLE` if the store failed.
   */
  async verify(
    input: DPoPVerifyInput,
    /**
     * Called with the checked proof just before its jti is recorded; throwing refuses it with
     * nothing recorded (the request policy's `proofBudget`).
     */
    admit?: (proof: VerifiedDPoPProof) => void,
  ): Promise<VerifiedDPoPProof> {
    const proof = this.check(input);
    admit?.(proof);
    if (this.store === undefined) {
      throw new DPoPError('ERR_DPOP_STORE_UNAVAILABLE', 'DPoP replay store is not configured');
    }
    let fresh: boolean;
    try {
      fresh = await this.store.recordIfNew(
        replayKey(proof.jkt, proof.jti),
        this.replayWindowMs,
        proof.nonce === undefined
          ? { iat: proof.iat, clockSkew: this.clockSkew }
          : { iat: proof.iat, nonce: proof.nonce, clockSkew: this.clockSkew },
      );
    } catch (cause) {
      if (cause instanceof DPoPError) throw cause;
      throw new DPoPError(
        'ERR_DPOP_STORE_UNAVAILABLE',
        'DPoP replay store unavailable; try again later',
        {
          cause,
        },
      );
    }
    if (!fresh) {
      throw new DPoPError('ERR_DPOP_REPLAY', 'DPoP jti already used (replay attack)', {
        claim: 'jti',
      });
    }
    return proof;
  }

  /**
   * Every check but the replay store: structure, signature, claims and token binding.
   * Synchronous and side-effect free (but for the key cache).
   * @throws {DPoPError}
   */
  check(input: DPoPVerifyInput): VerifiedDPoPProof {
    const compact = this.singleProof(input.proof);
    const dot1 = compact.indexOf('.');
    const dot2 = compact.indexOf('.', dot1 + 1);
    let header: PreparedHeader;
    let cached: PreparedHeader | undefined;
    let payload: Record<string, unknown> | undefined;
    let headerSegment: string;
    try {
      // A missing dot or an empty header or payload: not a compact JWS.
      if (dot1 <= 0 || dot2 <= dot1 + 1) assertCompactJws(compact);
      headerSegment = compact.slice(0, dot1);
      // Agents send the same header proof after proof: compare with the newest entry before
      // hashing the whole segment for a map lookup.
      cached =
        headerSegment === this.newestSegment ? this.newestHeader : this.headers.get(headerSegment);
      header = cached ?? this.prepareHeader(headerSegment);

      // The payload, then the signing input and the signature, decoded into one buffer.
      const bytes = this.proofBytes.atLeast(compact.length);
      payload = parseJsonObject(compact.slice(dot1 + 1, dot2), bytes);
      if (payload === undefined) {
        throw invalidProofError(
          'ERR_DPOP_MALFORMED',
          'payload is not a JSON object in base64url without padding (RFC 7515 §2)',
        );
      }

      // Canonical base64url of the expected length: no third dot, nothing outside the alphabet.
      // The signature's bytes after the signing input's (never longer than their base64url).
      const signatureLength = decodeBase64urlInto(compact.slice(dot2 + 1), bytes, dot2);
      if (signatureLength !== header.signatureLength) {
        throw invalidProofError('ERR_DPOP_INVALID_SIGNATURE', 'Invalid signature');
      }
      // The header and payload segments, one byte per character (as Buffer.from(…, 'latin1')).
      bytes.write(compact, 0, dot2, 'latin1');
      let valid: boolean;
      try {
        valid = verify(
          header.profile.digest,
          bytes.subarray(0, dot2),
          header.key,
          bytes.subarray(dot2, dot2 + signatureLength),
        );
      } catch {
        valid = false;
      }
      if (!valid) throw invalidProofError('ERR_DPOP_INVALID_SIGNATURE', 'Invalid signature');
    } catch (error) {
      // Reaching here, each segment decoded canonically (cached headers did so before), so the
      // proof is a compact JWS; any failure reports the structure first, as it always has.
      assertCompactJws(compact);
      throw error;
    }

    if (cached === undefined) this.remember(headerSegment, header);
    else if (cached !== this.newestHeader) {
      // Refresh its place in the LRU order (the newest entry is already in place).
      this.headers.delete(headerSegment);
      this.headers.set(headerSegment, cached);
      this.newestSegment = headerSegment;
      this.newestHeader = cached;
    }

    return this.checkClaims(payload, header, input);
  }

  /** One compact JWS, or the reason there is not exactly one. */
  private singleProof(proof: DPoPVerifyInput['proof']): string {
    let value: string | undefined;
    if (typeof proof === 'string') value = proof;
    else if (Array.isArray(proof)) {
      if (proof.length > 1) {
        throw invalidProofError('ERR_DPOP_MULTIPLE_HEADERS', 'more than one DPoP header');
      }
      value = proof[0];
    }
    if (value === undefined || value === '') {
      throw new DPoPError('ERR_DPOP_MISSING', 'This endpoint requires a DPoP proof header');
    }
    if (value.length > this.maxProofLength) {
      throw invalidProofError(
        'ERR_DPOP_TOO_LARGE',
        `proof is longer than ${this.maxProofLength} characters`,
      );
    }
    // Node joins repeated headers with ", "; a compact JWS never contains a comma.
    if (value.includes(',')) {
      throw invalidProofError('ERR_DPOP_MULTIPLE_HEADERS', 'more than one DPoP header');
    }
    // The structure (COMPACT_JWS) is checked by `check` only when something fails.
    return value;
  }

  /** Header checks and key import for a header not seen before (RFC 9449 §4.3 steps 4–7). */
  private prepareHeader(segment: string): PreparedHeader {
    const header = parseJsonObject(segment);
    if (header === undefined) {
      throw invalidProofError(
        'ERR_DPOP_MALFORMED',
        'header is not a JSON object in base64url without padding (RFC 7515 §2)',
      );
    }
    if (!isDPoPType(header.typ)) {
      throw invalidProofError('ERR_DPOP_INVALID_TYP', "typ must be 'dpop+jwt'");
    }
    const profile = typeof header.alg === 'string' ? this.profiles.get(header.alg) : undefined;
    if (profile === undefined) {
      throw invalidProofError('ERR_DPOP_UNSUPPORTED_ALG', `alg must be one of ${this.allowedAlgs}`);
    }
    // RFC 7515 §4.1.11: extensions we do not understand must be refused; we understand none.
    if (header.crit !== undefined) {
      throw invalidProofError('ERR_DPOP_MALFORMED', 'crit header parameters are not supported');
    }
    return { profile, ...importProofJwk(header.jwk, profile) };
  }

  private remember(segment: string, header: PreparedHeader): void {
    if (this.keyCacheSize <= 0) return;
    this.headers.set(segment, header);
    this.newestSegment = segment;
    this.newestHeader = header;
    if (this.headers.size > this.keyCacheSize) {
      this.headers.delete(this.headers.keys().next().value as string);
    }
  }

  /** RFC 9449 §4.3 steps 8–12, and the binding to the access token (§7). */
  private checkClaims(
    payload: Record<string, unknown>,
    header: PreparedHeader,
    input: DPoPVerifyInput,
  ): VerifiedDPoPProof {
    const { jti, htm, htu, iat, ath, nonce } = payload;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
      throw invalidProofError(
        'ERR_DPOP_INVALID_CLAIM',
        `jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`,
        'jti',
      );
    }
    if (typeof htm !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'htm must be a string', 'htm');
    }
    if (typeof htu !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'htu must be a string', 'htu');
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      throw invalidProofError(
        'ERR_DPOP_INVALID_CLAIM',
        'iat must be a number (seconds since the epoch)',
        'iat',
      );
    }
    if (ath !== undefined && typeof ath !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'ath must be a string', 'ath');
    }
    if (nonce !== undefined && typeof nonce !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'nonce must be a string', 'nonce');
    }

    if (htm !== input.method) {
      throw new DPoPError('ERR_DPOP_HTM_MISMATCH', 'DPoP htm does not match request method', {
        claim: 'htm',
      });
    }
    if (!this.htuMatches(htu, input.url)) {
      throw new DPoPError('ERR_DPOP_HTU_MISMATCH', 'DPoP htu does not match request URI', {
        claim: 'htu',
      });
    }

    const now = this.clock() / 1000;
    if (now - iat > this.proofTtl) {
      throw new DPoPError('ERR_DPOP_EXPIRED', 'DPoP proof has expired', { claim: 'iat' });
    }
    if (iat - now > this.clockSkew) {
      throw new DPoPError('ERR_DPOP_IAT_IN_FUTURE', 'DPoP proof iat is too far in the future', {
        claim: 'iat',
      });
    }
    if (
      this.nonces !== undefined &&
      !this.nonces.isValid(nonce, now * 1000) &&
      // A replay store recovering from a loss of history hands out nonces of its own.
      !(nonce !== undefined && this.store?.acceptsNonce?.(nonce) === true)
    ) {
      throw new DPoPError(
        'ERR_DPOP_USE_NONCE',
        // What to do, for clients without nonce handling (curl, hand-made proofs).
        (nonce === undefined
          ? 'DPoP proof must carry the server nonce'
          : 'DPoP nonce is invalid or expired') + NONCE_RETRY_HINT,
        { claim: 'nonce' },
      );
    }

    if (input.accessToken !== undefined) {
      if (ath === undefined) {
        throw new DPoPError(
          'ERR_DPOP_ATH_MISSING',
          'DPoP proof is missing ath for the access token',
          { claim: 'ath' },
        );
      }
      if (!equalStrings(ath, accessTokenHash(input.accessToken))) {
        throw new DPoPError('ERR_DPOP_ATH_MISMATCH', 'DPoP ath does not match the access token', {
          claim: 'ath',
        });
      }
    }
    if (input.expectedJkt !== undefined && !equalStrings(input.expectedJkt, header.jkt)) {
      throw new DPoPError('ERR_DPOP_BINDING_MISMATCH', 'Token JKT does not match DPoP proof');
    }

    // Optional members assigned rather than spread in: the same object, without the temporary
    // ones a spread makes on every proof.
    const result: Mutable<VerifiedDPoPProof> = {
      jkt: header.jkt,
      jti,
      htm,
      htu,
      iat,
      alg: header.profile.alg,
      jwk: header.jwk,
    };
    if (ath !== undefined) result.ath = ath;
    if (nonce !== undefined) result.nonce = nonce;
    return result;
  }

  /**
   * `htu` must name the request's URI, ignoring any query and fragment parts on both sides
   * (RFC 9449 §4.3 step 9). The exact string is the common case and costs nothing; otherwise
   * both sides are compared after RFC 3986 normalisation, which drops query and fragment.
   */
  private htuMatches(htu: string, requestUrl: string): boolean {
    // Strict syntax first: an absolute http(s) URI, no white space or backslash anywhere
    // (which URL parsers would quietly repair).
    if (!STRICT_HTU.test(htu)) return false;
    if (htu === requestUrl) return true;
    const normalized = normalizeHttpUri(htu);
    return normalized !== undefined && normalized === normalizeHttpUri(requestUrl);
  }
}
