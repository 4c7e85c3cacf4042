import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { DPOP_DEFAULTS, assertSupportedAlgorithms, type DPoPAlgorithm } from './dpop.constants.js';
import { DPoPError, invalidProofError } from './dpop.errors.js';
import type { DPoPNonceIssuer } from './dpop-nonce.issuer.js';
import { normalizeHttpUri } from './http-uri.util.js';
import type { JtiStore } from './jti-store.interface.js';

/** The public key of a verified proof: exactly its RFC 7638 required members. */
export type DPoPPublicJwk =
  | { kty: 'OKP'; crv: 'Ed25519'; x: string }
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  | { kty: 'RSA'; n: string; e: string };

/** A proof that passed every check; the guard puts it on the request. */
export interface VerifiedDPoPProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key (base64url): what `cnf.jkt` must equal. */
  readonly jkt: string;
  readonly jti: string;
  readonly htm: string;
  readonly htu: string;
  /** Seconds since the epoch, as sent. */
  readonly iat: number;
  readonly ath?: string;
  readonly nonce?: string;
  readonly alg: DPoPAlgorithm;
  readonly jwk: DPoPPublicJwk;
}

/** What one request offers for verification. */
export interface DPoPVerifyInput {
  /** The `DPoP` header value(s) as received (Node gives an array or a comma-joined string for repeats). */
  readonly proof: string | readonly string[] | undefined;
  /** The request method, compared case-sensitively with `htm`. */
  readonly method: string;
  /** The request URL as the server sees it (query and fragment are ignored). */
  readonly url: string;
  /** The access token sent with the request, if any: then `ath` is required and checked. */
  readonly accessToken?: string;
  /** The token's `cnf.jkt`, if it is DPoP-bound: then the proof key must have that thumbprint. */
  readonly expectedJkt?: string;
}

/** Settings of {@link DPoPProofVerifier}; durations in seconds. */
export interface DPoPProofVerifierOptions {
  algorithms?: readonly DPoPAlgorithm[];
  proofTtl?: number;
  clockSkew?: number;
  maxProofLength?: number;
  keyCacheSize?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number;
  /** When given, every proof must carry a nonce this issuer accepts (RFC 9449 §8). */
  nonces?: DPoPNonceIssuer;
}

/** Per-algorithm verification facts, fixed at start-up. */
interface AlgorithmProfile {
  readonly alg: DPoPAlgorithm;
  readonly kty: 'OKP' | 'EC' | 'RSA';
  /** `crypto.verify` digest argument (`null` for EdDSA, which hashes internally). */
  readonly digest: 'sha256' | null;
  readonly dsaEncoding?: 'ieee-p1363';
}

const PROFILES: Readonly<Record<DPoPAlgorithm, AlgorithmProfile>> = {
  EdDSA: { alg: 'EdDSA', kty: 'OKP', digest: null },
  ES256: { alg: 'ES256', kty: 'EC', digest: 'sha256', dsaEncoding: 'ieee-p1363' },
  RS256: { alg: 'RS256', kty: 'RSA', digest: 'sha256' },
};

/** A proof header that verified once: its key imported and thumbprinted, ready for reuse. */
interface PreparedHeader {
  readonly profile: AlgorithmProfile;
  readonly key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' };
  readonly signatureLength: number;
  readonly jkt: string;
  readonly jwk: DPoPPublicJwk;
}

const STRICT_HTU = /^https?:\/\/[^\s?#\\]+$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Members that only private or symmetric JWKs have (RFC 7518 §6). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const MAX_JTI_LENGTH = 256;
const MIN_RSA_BITS = 2048;
/** Larger RSA keys only cost verification time; no real client uses them. */
const MAX_RSA_BITS = 8192;

/**
 * Decodes base64url strictly: only the canonical, unpadded encoding of some bytes is accepted, so
 * one proof has exactly one spelling.
 */
function decodeBase64url(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(segment);
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A base64url member decoding to exactly `length` bytes (or any length when omitted). */
function base64urlMember(value: unknown, length?: number): Buffer | undefined {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return undefined;
  const bytes = decodeBase64url(value);
  if (bytes === undefined || (length !== undefined && bytes.length !== length)) return undefined;
  return bytes;
}

/**
 * The structural refusal, checked only once something else failed: a proof that verifies is
 * already three canonical base64url segments (see `check`), so valid proofs skip a regex over
 * the whole proof, while an invalid one still gets this error ahead of any other, as ever.
 */
function assertCompactJws(compact: string): void {
  if (!COMPACT_JWS.test(compact)) {
    throw invalidProofError('ERR_DPOP_MALFORMED', 'not a compact JWS (three base64url segments)');
  }
}

function jwkError(reason: string): DPoPError {
  return invalidProofError('ERR_DPOP_INVALID_JWK', `jwk ${reason}`);
}

/** Base64url(SHA-256(input)), as used for `ath` and RFC 7638 thumbprints. */
export function sha256Base64url(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('base64url');
}

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
  /** Server nonces, when they are required (RFC 9449 §8). */
  private readonly nonces: DPoPNonceIssuer | undefined;
  /** The last entry of `headers` (its key and value), or none. */
  private newestSegment: string | undefined;
  private newestHeader: PreparedHeader | undefined;

  constructor(
    private readonly store: JtiStore | undefined,
    options: DPoPProofVerifierOptions = {},
  ) {
    const algorithms = options.algorithms ?? DPOP_DEFAULTS.algorithms;
    assertSupportedAlgorithms(algorithms, 'DPoP algorithms');
    this.profiles = new Map(algorithms.map((alg) => [alg, PROFILES[alg]]));
    this.allowedAlgs = [...this.profiles.keys()].join(', ');
    this.proofTtl = options.proofTtl ?? DPOP_DEFAULTS.proofTtl;
    this.clockSkew = options.clockSkew ?? DPOP_DEFAULTS.clockSkew;
    this.maxProofLength = options.maxProofLength ?? DPOP_DEFAULTS.maxProofLength;
    this.keyCacheSize = options.keyCacheSize ?? DPOP_DEFAULTS.keyCacheSize;
    this.clock = options.clock ?? Date.now;
    this.nonces = options.nonces;
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
  async verify(input: DPoPVerifyInput): Promise<VerifiedDPoPProof> {
    const proof = this.check(input);
    if (this.store === undefined) {
      throw new DPoPError('ERR_DPOP_STORE_UNAVAILABLE', 'DPoP replay store is not configured');
    }
    let fresh: boolean;
    try {
      fresh = await this.store.recordIfNew(proof.jti, this.replayWindowMs, { iat: proof.iat });
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
    if (!fresh) throw new DPoPError('ERR_DPOP_REPLAY', 'DPoP jti already used (replay attack)');
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

      payload = parseJsonObject(compact.slice(dot1 + 1, dot2));
      if (payload === undefined) {
        throw invalidProofError('ERR_DPOP_MALFORMED', 'payload is not a base64url JSON object');
      }

      // Canonical base64url of the expected length: no third dot, nothing outside the alphabet.
      const signature = decodeBase64url(compact.slice(dot2 + 1));
      if (signature === undefined || signature.length !== header.signatureLength) {
        throw invalidProofError('ERR_DPOP_INVALID_SIGNATURE', 'Invalid signature');
      }
      let valid: boolean;
      try {
        valid = verify(
          header.profile.digest,
          Buffer.from(compact.slice(0, dot2), 'latin1'),
          header.key,
          signature,
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
      throw invalidProofError('ERR_DPOP_MALFORMED', 'header is not a base64url JSON object');
    }
    if (header.typ !== 'dpop+jwt') {
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
    return this.importJwk(header.jwk, profile);
  }

  private importJwk(jwk: unknown, profile: AlgorithmProfile): PreparedHeader {
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      throw jwkError('must be a JSON object with the public key');
    }
    const members = jwk as Record<string, unknown>;
    for (const name of PRIVATE_JWK_MEMBERS) {
      if (members[name] !== undefined) throw jwkError('must not contain private key material');
    }
    if (members.kty !== profile.kty) {
      throw jwkError(`kty must be ${profile.kty} for ${profile.alg}`);
    }
    if (members.alg !== undefined && members.alg !== profile.alg) {
      throw jwkError('alg does not match the header alg');
    }
    if (members.use !== undefined && members.use !== 'sig') {
      throw jwkError("use must be 'sig'");
    }

    let publicJwk: DPoPPublicJwk;
    let thumbprintInput: string;
    let signatureLength = 64;
    switch (profile.kty) {
      case 'OKP': {
        if (members.crv !== 'Ed25519') throw jwkError('crv must be Ed25519 for EdDSA');
        if (!base64urlMember(members.x, 32)) throw jwkError('x must be 32 base64url bytes');
        publicJwk = { kty: 'OKP', crv: 'Ed25519', x: members.x as string };
        thumbprintInput = `{"crv":"Ed25519","kty":"OKP","x":"${publicJwk.x}"}`;
        break;
      }
      case 'EC': {
        if (members.crv !== 'P-256') throw jwkError('crv must be P-256 for ES256');
        if (!base64urlMember(members.x, 32) || !base64urlMember(members.y, 32)) {
          throw jwkError('x and y must be 32 base64url bytes each');
        }
        publicJwk = { kty: 'EC', crv: 'P-256', x: members.x as string, y: members.y as string };
        thumbprintInput = `{"crv":"P-256","kty":"EC","x":"${publicJwk.x}","y":"${publicJwk.y}"}`;
        break;
      }
      case 'RSA': {
        const n = base64urlMember(members.n);
        const e = base64urlMember(members.e);
        if (!n || !e || e.length > 4 || n[0] === 0 || e[0] === 0) {
          throw jwkError('n and e must be unsigned base64url integers');
        }
        // e = 1 makes any padded message its own signature, and an even n is no RSA modulus:
        // either would bind a token to a key anyone can sign with. A large e only costs CPU.
        const exponent = e.readUIntBE(0, e.length);
        if (exponent < 3 || exponent > 65537 || exponent % 2 === 0 || n[n.length - 1]! % 2 === 0) {
          throw jwkError('RSA key must have an odd modulus and an odd exponent from 3 to 65537');
        }
        const bits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
        if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
          throw jwkError(`RSA modulus must be ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`);
        }
        publicJwk = { kty: 'RSA', n: members.n as string, e: members.e as string };
        thumbprintInput = `{"e":"${publicJwk.e}","kty":"RSA","n":"${publicJwk.n}"}`;
        signatureLength = n.length;
        break;
      }
    }

    let key: KeyObject;
    try {
      // Only the required members: node:crypto needs nothing else, and we vouch for nothing else.
      key = createPublicKey({ key: publicJwk, format: 'jwk' });
    } catch {
      // e.g. an EC point that is not on the curve.
      throw jwkError('is not a valid public key');
    }
    return {
      profile,
      key: profile.dsaEncoding ? { key, dsaEncoding: profile.dsaEncoding } : key,
      signatureLength,
      jkt: sha256Base64url(thumbprintInput),
      jwk: publicJwk,
    };
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
      );
    }
    if (typeof htm !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'htm must be a string');
    }
    if (typeof htu !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'htu must be a string');
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      throw invalidProofError(
        'ERR_DPOP_INVALID_CLAIM',
        'iat must be a number (seconds since the epoch)',
      );
    }
    if (ath !== undefined && typeof ath !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'ath must be a string');
    }
    if (nonce !== undefined && typeof nonce !== 'string') {
      throw invalidProofError('ERR_DPOP_INVALID_CLAIM', 'nonce must be a string');
    }

    if (htm !== input.method) {
      throw new DPoPError('ERR_DPOP_HTM_MISMATCH', 'DPoP htm does not match request method');
    }
    if (!this.htuMatches(htu, input.url)) {
      throw new DPoPError('ERR_DPOP_HTU_MISMATCH', 'DPoP htu does not match request URI');
    }

    const now = this.clock() / 1000;
    if (now - iat > this.proofTtl) {
      throw new DPoPError('ERR_DPOP_EXPIRED', 'DPoP proof has expired');
    }
    if (iat - now > this.clockSkew) {
      throw new DPoPError('ERR_DPOP_IAT_IN_FUTURE', 'DPoP proof iat is too far in the future');
    }
    if (this.nonces !== undefined && !this.nonces.isValid(nonce, now * 1000)) {
      throw new DPoPError(
        'ERR_DPOP_USE_NONCE',
        nonce === undefined
          ? 'DPoP proof must carry the server nonce'
          : 'DPoP nonce is invalid or expired',
      );
    }

    if (input.accessToken !== undefined) {
      if (ath === undefined) {
        throw new DPoPError(
          'ERR_DPOP_ATH_MISSING',
          'DPoP proof is missing ath for the access token',
        );
      }
      if (!equalStrings(ath, sha256Base64url(input.accessToken))) {
        throw new DPoPError('ERR_DPOP_ATH_MISMATCH', 'DPoP ath does not match the access token');
      }
    }
    if (input.expectedJkt !== undefined && !equalStrings(input.expectedJkt, header.jkt)) {
      throw new DPoPError('ERR_DPOP_BINDING_MISMATCH', 'Token JKT does not match DPoP proof');
    }

    const result: VerifiedDPoPProof = {
      jkt: header.jkt,
      jti,
      htm,
      htu,
      iat,
      alg: header.profile.alg,
      jwk: header.jwk,
      ...(ath !== undefined && { ath }),
      ...(nonce !== undefined && { nonce }),
    };
    return result;
  }

  /**
   * `htu` must name the request's URI, without query or fragment (RFC 9449 §4.2: the client
   * sends none, so one that does is refused rather than trimmed). The exact string is the common
   * case and costs nothing; otherwise both sides are compared after RFC 3986 normalisation.
   */
  private htuMatches(htu: string, requestUrl: string): boolean {
    // Strict syntax first: an absolute http(s) URI, no query, fragment, white space or
    // backslash (which URL parsers would quietly repair).
    if (!STRICT_HTU.test(htu)) return false;
    if (htu === requestUrl) return true;
    const normalized = normalizeHttpUri(htu);
    return normalized !== undefined && normalized === normalizeHttpUri(requestUrl);
  }
}

/** Constant-time string equality (lengths are not secret here). */
function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
