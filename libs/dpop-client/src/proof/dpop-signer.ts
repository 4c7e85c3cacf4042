import { DPoPClientError } from '../errors/client.errors.js';
import {
  DPOP_ALGORITHM_SPECS,
  DPOP_ALGORITHMS,
  DPOP_HASH_LENGTHS,
  DPOP_RSA_BITS,
  isDPoPAlgorithm,
  type DPoPAlgorithm,
  type DPoPPublicJwk,
} from './dpop-algorithms.table.js';
import { asBytes, fromBase64url } from './encoding.util.js';
import { derToJose } from './ecdsa-signature.util.js';
import type { WebCryptoKey, WebCryptoParams } from './webcrypto.types.js';
// Type-only (no cycle at run time): the public name of the algorithms, for the public interface.
import type { DPoPClientAlgorithm } from './dpop-generator.js';

/**
 * Who signs a proof. {@link DPoPGenerator} takes any of these: a WebCrypto `CryptoKeyPair`
 * (`fromKeyPair`), an external signer (`fromSigner`: a KMS, a PKCS#11 HSM, a TPM, …), or a
 * `node:crypto` key (`nest-dpop-client/node`). All of them come down to this interface.
 */
export interface DPoPSigner {
  /** The proof `alg`; it must suit the public key. */
  readonly alg: DPoPClientAlgorithm;
  /**
   * The public key as a JWK (`kty`, `crv`, `x`, `y` / `n`, `e`; other members are ignored and
   * left out of the proofs). A WebCrypto `JsonWebKey` (`crypto.subtle.exportKey('jwk', …)`) fits
   * as it is: its members are checked at run time against the algorithm whatever the type says.
   */
  readonly publicJwk:
    | Readonly<Record<string, unknown>>
    | {
        readonly kty?: string;
        readonly crv?: string;
        readonly x?: string;
        readonly y?: string;
        readonly n?: string;
        readonly e?: string;
      };
  /**
   * Signs the JWS signing input (`base64url(header) + '.' + base64url(payload)`, as bytes) with
   * the private key: the algorithm's hash is the signer's job, as with a KMS `Sign` call on a
   * `RAW` message.
   */
  sign(input: Uint8Array): Promise<ArrayBuffer | ArrayBufferView> | ArrayBuffer | ArrayBufferView;
  /**
   * The form an ECDSA signer returns: `raw` (`r || s`, the JOSE form, as WebCrypto and PKCS#11
   * `CKM_ECDSA` give it; the default) or `der` (an ASN.1 `Ecdsa-Sig-Value`, as AWS KMS, Google
   * Cloud KMS and OpenSSL give it), which is converted and checked. Ignored for other keys.
   */
  readonly signatureFormat?: 'raw' | 'der';
}

/** Unsupported algorithm or key: a typed error, as the server's table says. */
export function unsupported(message: string): DPoPClientError {
  return new DPoPClientError('ERR_DPOP_CLIENT_UNSUPPORTED_ALG', message);
}

function invalidKey(message: string, cause?: unknown): DPoPClientError {
  return new DPoPClientError('ERR_DPOP_CLIENT_INVALID_KEY', message, { cause });
}

/** The RFC 7638 required members of a public JWK, checked against the algorithm. */
export function publicJwkFor(alg: DPoPAlgorithm, key: DPoPSigner['publicJwk']): DPoPPublicJwk {
  // Read member by member as unknown: a typed JsonWebKey is checked as strictly as anything else.
  const jwk: Readonly<Record<string, unknown>> = key;
  const spec = DPOP_ALGORITHM_SPECS[alg];
  const text = (name: string): string => {
    const value = jwk[name];
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) {
      throw invalidKey(`the public JWK has no valid "${name}"`);
    }
    return value;
  };
  if ('d' in jwk)
    throw invalidKey('the public JWK holds a private key ("d"): pass the public part');
  if (jwk.kty !== spec.kty) {
    throw unsupported(`${alg} needs a ${spec.kty} key, got kty ${String(jwk.kty)}`);
  }
  if (spec.kty === 'RSA') {
    const n = text('n');
    const bits = rsaModulusBytes(n) * 8;
    if (bits < DPOP_RSA_BITS.min || bits > DPOP_RSA_BITS.max) {
      throw unsupported(
        `RSA keys must have ${DPOP_RSA_BITS.min} to ${DPOP_RSA_BITS.max} bits, got ${bits}`,
      );
    }
    return { kty: 'RSA', n, e: text('e') };
  }
  if (jwk.crv !== spec.crv) {
    throw unsupported(`${alg} needs a ${spec.crv} key, got crv ${String(jwk.crv)}`);
  }
  const expected = Math.ceil((spec.coordinateLength! * 4) / 3);
  const x = text('x');
  if (x.length !== expected) throw invalidKey(`the public JWK's "x" is not ${spec.crv} sized`);
  if (spec.kty === 'OKP') return { kty: 'OKP', crv: spec.crv as 'Ed25519' | 'Ed448', x };
  const y = text('y');
  if (y.length !== expected) throw invalidKey(`the public JWK's "y" is not ${spec.crv} sized`);
  return { kty: 'EC', crv: spec.crv as 'P-256' | 'P-384' | 'P-521', x, y };
}

/** Bytes of an RSA modulus given as JWK `n` (RFC 7518 §6.3.1.1: no leading zero byte). */
function rsaModulusBytes(n: string): number {
  const bytes = fromBase64url(n);
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.length - start;
}

/** WebCrypto's name for a key of `alg` (import) and its signing parameters. */
export function webCryptoParams(alg: DPoPAlgorithm): {
  key: WebCryptoParams;
  sign: WebCryptoParams;
} {
  const spec = DPOP_ALGORITHM_SPECS[alg];
  const hash = spec.hash === null ? undefined : `SHA-${spec.hash.slice(3)}`;
  switch (spec.kty) {
    case 'OKP':
      return { key: { name: spec.crv! }, sign: { name: spec.crv! } };
    case 'EC':
      return {
        key: { name: 'ECDSA', namedCurve: spec.crv! },
        sign: { name: 'ECDSA', hash: hash! },
      };
    default:
      return spec.padding === 'pss'
        ? {
            key: { name: 'RSA-PSS', hash: hash! },
            sign: { name: 'RSA-PSS', saltLength: DPOP_HASH_LENGTHS[spec.hash!] },
          }
        : { key: { name: 'RSASSA-PKCS1-v1_5', hash: hash! }, sign: { name: 'RSASSA-PKCS1-v1_5' } };
  }
}

/** The usual algorithm of a WebCrypto key, or `requested` if the key suits it. */
export function algorithmOfCryptoKey(key: WebCryptoKey, requested?: string): DPoPAlgorithm {
  const algorithm = key.algorithm;
  let candidates: DPoPAlgorithm[];
  switch (algorithm.name) {
    case 'Ed25519':
      candidates = ['EdDSA', 'Ed25519'];
      break;
    case 'Ed448':
      candidates = ['Ed448'];
      break;
    case 'ECDSA': {
      const curves: Readonly<Record<string, DPoPAlgorithm>> = {
        'P-256': 'ES256',
        'P-384': 'ES384',
        'P-521': 'ES512',
      };
      const alg = curves[algorithm.namedCurve ?? ''];
      if (alg === undefined) throw unsupported(`EC keys must be on P-256, P-384 or P-521`);
      candidates = [alg];
      break;
    }
    case 'RSASSA-PKCS1-v1_5':
    case 'RSA-PSS': {
      const bits = algorithm.modulusLength ?? 0;
      if (bits < DPOP_RSA_BITS.min || bits > DPOP_RSA_BITS.max) {
        throw unsupported(
          `RSA keys must have ${DPOP_RSA_BITS.min} to ${DPOP_RSA_BITS.max} bits, got ${bits}`,
        );
      }
      const size = algorithm.hash?.name.replace('SHA-', '') ?? '';
      // WebCrypto binds an RSA key to one hash and padding: exactly one algorithm fits.
      candidates = [`${algorithm.name === 'RSA-PSS' ? 'PS' : 'RS'}${size}` as DPoPAlgorithm];
      break;
    }
    default:
      throw unsupported(`${algorithm.name} keys cannot sign DPoP proofs`);
  }
  if (!candidates.every(isDPoPAlgorithm)) throw unsupported(`unsupported ${algorithm.name} key`);
  if (requested === undefined) return candidates[0]!;
  if (!isDPoPAlgorithm(requested)) {
    throw unsupported(`"${requested}" is not one of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  if (!candidates.includes(requested)) {
    throw unsupported(
      `this ${algorithm.name} key signs ${candidates.join(' or ')}, not ${requested}`,
    );
  }
  return requested;
}

/**
 * The signing function of a signer, returning the JOSE form: ECDSA DER converted (when the
 * signer says `der`), and every signature's length checked against the algorithm, so that a
 * signer that answers in another form fails here, with a clear error, not at the server.
 */
export function joseSignature(
  signer: DPoPSigner,
  publicJwk: DPoPPublicJwk,
): (input: Uint8Array) => Promise<Uint8Array> {
  const spec = DPOP_ALGORITHM_SPECS[signer.alg];
  const der = spec.kty === 'EC' && signer.signatureFormat === 'der';
  // RSA: as long as the modulus (RFC 8017 §8.1.1, §8.2.1).
  const length = publicJwk.kty === 'RSA' ? rsaModulusBytes(publicJwk.n) : spec.signatureLength;
  return async (input) => {
    let signature: Uint8Array;
    try {
      signature = asBytes(await signer.sign(input));
    } catch (cause) {
      if (cause instanceof DPoPClientError) throw cause;
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_SIGNER',
        `the signer failed: ${String((cause as Error)?.message ?? cause)}`,
        { cause },
      );
    }
    if (der) return derToJose(signature, spec.coordinateLength!);
    if (signature.length !== length) {
      const hint = spec.kty === 'EC' ? ' (a DER signature? set signatureFormat: "der")' : '';
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_SIGNATURE',
        `a ${signer.alg} signature has ${length} bytes, the signer returned ${signature.length}${hint}`,
      );
    }
    return signature;
  };
}
