import {
  constants,
  createPublicKey,
  generateKeyPair,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import {
  DPOP_ALGORITHMS,
  DPOP_ALGORITHM_SPECS,
  DPOP_HASH_LENGTHS,
  DPOP_RSA_BITS,
  isDPoPAlgorithm,
  type DPoPAlgorithm,
  type DPoPCurve,
  type DPoPPublicJwk,
} from '../proof/dpop-algorithms.table.js';
import { DPoPClientError } from '../errors/client.errors.js';

/**
 * The key side of {@link DPoPGenerator}: which algorithm a private key signs with, its public
 * JWK, its `crypto.sign` arguments and key generation, all from the table the server shares.
 */

/** The smallest and largest RSA modulus the server library accepts (bits). */
const RSA_BITS = DPOP_RSA_BITS;

/** node:crypto's curve names for the JWK curves. */
const EC_CURVES: Readonly<Record<string, 'P-256' | 'P-384' | 'P-521'>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};
const NODE_CURVES = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const;

function unsupported(message: string): DPoPClientError {
  return new DPoPClientError('ERR_DPOP_CLIENT_UNSUPPORTED_ALG', message);
}

/** The JWK curve of a private key, or a typed error for keys no server here accepts. */
function curveOf(key: KeyObject): DPoPCurve | 'RSA' {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const crv = curve === undefined ? undefined : EC_CURVES[curve];
      if (crv === undefined) {
        throw unsupported(
          `EC keys must be on P-256, P-384 or P-521, got ${curve ?? 'an unknown curve'}`,
        );
      }
      return crv;
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < RSA_BITS.min || bits > RSA_BITS.max) {
        throw unsupported(
          `RSA keys must have ${RSA_BITS.min} to ${RSA_BITS.max} bits, got ${bits}`,
        );
      }
      return 'RSA';
    }
    default:
      throw unsupported(
        `${key.asymmetricKeyType ?? 'these'} keys cannot sign DPoP proofs here ` +
          '(use Ed25519, Ed448, P-256, P-384, P-521 or RSA keys)',
      );
  }
}

/** The usual algorithm of a key of that curve. */
const DEFAULT_ALG: Readonly<Record<DPoPCurve | 'RSA', DPoPAlgorithm>> = {
  Ed25519: 'EdDSA',
  Ed448: 'Ed448',
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  RSA: 'RS256',
};

/** `algorithm` if it suits the key (else a typed error), or the key's usual algorithm. */
export function algorithmFor(key: KeyObject, algorithm: string | undefined): DPoPAlgorithm {
  const curve = curveOf(key);
  if (algorithm === undefined) return DEFAULT_ALG[curve];
  if (!isDPoPAlgorithm(algorithm)) {
    throw unsupported(`"${algorithm}" is not one of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  const spec = DPOP_ALGORITHM_SPECS[algorithm];
  const fits = curve === 'RSA' ? spec.kty === 'RSA' : spec.crv === curve;
  if (!fits) {
    throw unsupported(
      `${algorithm} needs ${spec.crv ?? 'an RSA'} key, got ${curve === 'RSA' ? 'an RSA' : curve} key`,
    );
  }
  return algorithm;
}

/** The public JWK (required members only). */
export function publicJwkOf(key: KeyObject): DPoPPublicJwk {
  const exported = createPublicKey(key).export({ format: 'jwk' });
  switch (exported.kty) {
    case 'OKP':
      return { kty: 'OKP', crv: exported.crv as 'Ed25519' | 'Ed448', x: exported.x! };
    case 'EC':
      return {
        kty: 'EC',
        crv: exported.crv as 'P-256' | 'P-384' | 'P-521',
        x: exported.x!,
        y: exported.y!,
      };
    default:
      return { kty: 'RSA', n: exported.n!, e: exported.e! };
  }
}

/** `crypto.sign` arguments per algorithm. */
export function signerOf(key: KeyObject, alg: DPoPAlgorithm): (input: Uint8Array) => Buffer {
  const spec = DPOP_ALGORITHM_SPECS[alg];
  // EdDSA hashes internally: no digest argument.
  if (spec.hash === null) return (input) => sign(null, input, key);
  const hash = spec.hash;
  let signingKey: KeyObject | SignKeyObjectInput = key;
  // JWS wants the raw r||s form (RFC 7518 §3.4), not the DER that node:crypto defaults to.
  if (spec.kty === 'EC') signingKey = { key, dsaEncoding: 'ieee-p1363' };
  // RFC 7518 §3.5: RSASSA-PSS with MGF1 and a salt as long as the hash.
  else if (spec.padding === 'pss') {
    signingKey = {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: DPOP_HASH_LENGTHS[hash],
    };
  }
  // RSASSA-PKCS1-v1_5 is node:crypto's default padding for RSA keys.
  return (input) => sign(hash, input, signingKey);
}

export function generateKeyObject(alg: DPoPAlgorithm): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject): void => {
      if (error) reject(error);
      else resolve(privateKey);
    };
    const spec = DPOP_ALGORITHM_SPECS[alg];
    switch (spec.crv) {
      case 'Ed25519':
        return generateKeyPair('ed25519', {}, done);
      case 'Ed448':
        return generateKeyPair('ed448', {}, done);
      case 'P-256':
      case 'P-384':
      case 'P-521':
        return generateKeyPair('ec', { namedCurve: NODE_CURVES[spec.crv] }, done);
      default:
        return generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, done);
    }
  });
}
