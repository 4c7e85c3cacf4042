import {
  constants,
  createPublicKey,
  hash,
  type KeyObject,
  type VerifyKeyObjectInput,
} from 'node:crypto';
import {
  DPOP_ALGORITHM_SPECS,
  DPOP_HASH_LENGTHS,
  DPOP_RSA_BITS,
  thumbprintInput,
  type DPoPAlgorithm,
  type DPoPPublicJwk,
} from './dpop-algorithms.table.js';
import { DPoPError, invalidProofError } from '../errors/dpop.errors.js';

export type { DPoPPublicJwk } from './dpop-algorithms.table.js';

/** Per-algorithm verification facts, fixed at start-up. */
export interface AlgorithmProfile {
  readonly alg: DPoPAlgorithm;
  readonly kty: 'OKP' | 'EC' | 'RSA';
  /** The curve its keys must be on (OKP and EC). */
  readonly crv: string | undefined;
  /** `crypto.verify` digest argument (`null` for EdDSA, which hashes internally). */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** Bytes of `x` (and `y`), for OKP and EC keys. */
  readonly coordinateLength: number | undefined;
  /** Signature bytes for OKP and EC; RSA signatures are as long as the modulus. */
  readonly signatureLength: number | undefined;
  /** The extra `crypto.verify` key options: raw r‖s for EC, PSS padding and salt for PS*. */
  readonly keyOptions: Omit<VerifyKeyObjectInput, 'key'> | undefined;
}

/** The profile of each algorithm, derived once from the shared table. */
export function algorithmProfile(alg: DPoPAlgorithm): AlgorithmProfile {
  const spec = DPOP_ALGORITHM_SPECS[alg];
  let keyOptions: AlgorithmProfile['keyOptions'];
  // JWS wants EC signatures as raw r‖s (RFC 7518 §3.4), not the DER node:crypto defaults to.
  if (spec.kty === 'EC') keyOptions = { dsaEncoding: 'ieee-p1363' };
  // RFC 7518 §3.5: the salt is as long as the hash; OpenSSL then checks exactly that length.
  else if (spec.padding === 'pss') {
    keyOptions = {
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: DPOP_HASH_LENGTHS[spec.hash!],
    };
  }
  return {
    alg,
    kty: spec.kty,
    crv: spec.crv,
    digest: spec.hash,
    coordinateLength: spec.coordinateLength,
    signatureLength: spec.signatureLength,
    keyOptions,
  };
}

/** A proof key imported once: ready for `crypto.verify`, thumbprinted. */
export interface PreparedKey {
  readonly key: KeyObject | VerifyKeyObjectInput;
  readonly signatureLength: number;
  readonly jkt: string;
  readonly jwk: DPoPPublicJwk;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Members that only private or symmetric JWKs have (RFC 7518 §6). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Decodes base64url strictly: only the canonical, unpadded encoding of some bytes is accepted, so
 * one proof has exactly one spelling.
 */
export function decodeBase64url(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

/**
 * {@link decodeBase64url} into `target` from `offset` on, with no allocation but the re-encoded
 * string: the number of bytes decoded, or `undefined` when `segment` is not canonical (or did
 * not fit, which makes the re-encoding differ too).
 */
export function decodeBase64urlInto(
  segment: string,
  target: Buffer,
  offset: number,
): number | undefined {
  const length = target.write(segment, offset, 'base64url');
  return target.toString('base64url', offset, offset + length) === segment ? length : undefined;
}

/** Base64url(SHA-256(input)), as used for `ath` and RFC 7638 thumbprints. */
export function sha256Base64url(input: string): string {
  // The one-shot `crypto.hash` (UTF-8 input, as `createHash().update()`): half the cost of a
  // Hash object for inputs this small.
  return hash('sha256', input, 'base64url');
}

function jwkError(reason: string): DPoPError {
  return invalidProofError('ERR_DPOP_INVALID_JWK', `jwk ${reason}`);
}

/**
 * A JWK member holding base64url bytes: a string in the canonical unpadded spelling (anything
 * else is refused with a message that says so), of exactly `length` bytes when given.
 */
function base64urlMember(
  members: Record<string, unknown>,
  name: string,
  length: number | undefined,
  what: string,
): Buffer {
  const value = members[name];
  if (typeof value !== 'string' || value === '') throw jwkError(`${name} must be a string`);
  const bytes = BASE64URL.test(value) ? decodeBase64url(value) : undefined;
  if (bytes === undefined) {
    throw jwkError(`${name} must be base64url without padding (RFC 7515 §2)`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw jwkError(`${name} must be ${length} bytes for ${what}`);
  }
  return bytes;
}

/**
 * Checks a proof header's `jwk` against the algorithm (RFC 9449 §4.3 steps 6–7) and imports it:
 * a public key of the type and curve the algorithm needs, no private members, its own `alg` and
 * `use` not contradicting; RSA keys of 2048 to 8192 bits with an odd modulus and an odd
 * exponent from 3 to 65537.
 * @throws {DPoPError} `ERR_DPOP_INVALID_JWK`
 */
export function importProofJwk(jwk: unknown, profile: AlgorithmProfile): PreparedKey {
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
  let signatureLength = profile.signatureLength ?? 0;
  switch (profile.kty) {
    case 'OKP': {
      if (members.crv !== profile.crv)
        throw jwkError(`crv must be ${profile.crv} for ${profile.alg}`);
      base64urlMember(members, 'x', profile.coordinateLength, profile.crv!);
      publicJwk = {
        kty: 'OKP',
        crv: profile.crv as 'Ed25519' | 'Ed448',
        x: members.x as string,
      };
      break;
    }
    case 'EC': {
      if (members.crv !== profile.crv)
        throw jwkError(`crv must be ${profile.crv} for ${profile.alg}`);
      base64urlMember(members, 'x', profile.coordinateLength, profile.crv!);
      base64urlMember(members, 'y', profile.coordinateLength, profile.crv!);
      publicJwk = {
        kty: 'EC',
        crv: profile.crv as 'P-256' | 'P-384' | 'P-521',
        x: members.x as string,
        y: members.y as string,
      };
      break;
    }
    case 'RSA': {
      const n = base64urlMember(members, 'n', undefined, 'RSA');
      const e = base64urlMember(members, 'e', undefined, 'RSA');
      if (e.length > 4 || n[0] === 0 || e[0] === 0) {
        throw jwkError('n and e must be unsigned integers without leading zero bytes');
      }
      // e = 1 makes any padded message its own signature, and an even n is no RSA modulus:
      // either would bind a token to a key anyone can sign with. A large e only costs CPU.
      const exponent = e.readUIntBE(0, e.length);
      if (exponent < 3 || exponent > 65537 || exponent % 2 === 0 || n[n.length - 1]! % 2 === 0) {
        throw jwkError('RSA key must have an odd modulus and an odd exponent from 3 to 65537');
      }
      const bits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
      if (bits < DPOP_RSA_BITS.min || bits > DPOP_RSA_BITS.max) {
        throw jwkError(`RSA modulus must be ${DPOP_RSA_BITS.min} to ${DPOP_RSA_BITS.max} bits`);
      }
      publicJwk = { kty: 'RSA', n: members.n as string, e: members.e as string };
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
    key: profile.keyOptions ? { key, ...profile.keyOptions } : key,
    signatureLength,
    jkt: sha256Base64url(thumbprintInput(publicJwk)),
    jwk: publicJwk,
  };
}
