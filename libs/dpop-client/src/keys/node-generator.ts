import { createPrivateKey, KeyObject } from 'node:crypto';
import { DPoPClientError } from '../errors/client.errors.js';
import { isDPoPAlgorithm } from '../proof/dpop-algorithms.table.js';
import {
  DPOP_CLIENT_ALGORITHMS,
  DPoPGenerator,
  type DPoPClientAlgorithm,
  type DPoPGeneratorOptions,
  type DPoPSigner,
} from '../proof/dpop-generator.js';
import { algorithmFor, generateKeyObject, publicJwkOf, signerOf } from './dpop-key.util.js';
import {
  loadKeyFile,
  savePrivateKey,
  type LoadKeyOptions,
  type SaveKeyOptions,
} from './key-store.js';

/**
 * `node:crypto` keys for {@link DPoPGenerator}: key objects, PEM/JWK text and key files. Signing
 * goes through `crypto.sign` (synchronous, in this thread), as before the core moved to
 * WebCrypto, so key-file users keep their speed.
 */

/**
 * A {@link DPoPSigner} for a `node:crypto` private key: Ed25519, Ed448, P-256, P-384, P-521 or
 * RSA (2048–8192 bits), with `algorithm` if the key suits it, else the key's usual one.
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_KEY` for a public or secret key,
 *   `ERR_DPOP_CLIENT_UNSUPPORTED_ALG` for another kind of key or an algorithm it does not suit
 */
export function keyObjectSigner(
  privateKey: KeyObject,
  options: { algorithm?: DPoPClientAlgorithm } = {},
): DPoPSigner {
  if (privateKey?.type !== 'private') {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_INVALID_KEY',
      `a DPoP generator needs a private key, got a ${String(privateKey?.type)} key`,
    );
  }
  const alg = algorithmFor(privateKey, options.algorithm);
  const sign = signerOf(privateKey, alg);
  return { alg, publicJwk: publicJwkOf(privateKey), sign: (input) => sign(input) };
}

/**
 * A generator for a private key: a `KeyObject`, PEM text (PKCS#8, SEC1 or PKCS#1; `passphrase`
 * for an encrypted one) or a private JWK (whose `alg` member, when set, is the algorithm).
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_KEY` if it is not a private key
 */
export async function generatorFromKey(
  key: KeyObject | string | Buffer | Record<string, unknown>,
  options: DPoPGeneratorOptions & { passphrase?: string } = {},
): Promise<DPoPGenerator> {
  let keyObject: KeyObject;
  let named: unknown;
  if (key instanceof KeyObject) {
    keyObject = key;
  } else {
    try {
      if (typeof key === 'string' || Buffer.isBuffer(key)) {
        keyObject = createPrivateKey({ key, format: 'pem', passphrase: options.passphrase });
      } else {
        keyObject = createPrivateKey({ key, format: 'jwk' });
        named = key.alg;
      }
    } catch (cause) {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        'not a private key in PEM or JWK form',
        { cause },
      );
    }
  }
  const algorithm = options.algorithm ?? (isDPoPAlgorithm(named) ? named : undefined);
  // The signer is this process's own key: no probe needed.
  return DPoPGenerator.fromSigner(keyObjectSigner(keyObject, { algorithm }), {
    clock: options.clock,
    verify: false,
  });
}

/**
 * A generator for a key file written by {@link generateKeyFile} or {@link savePrivateKey} (or any
 * PEM/JWK private key file). Refuses a file that group or others can access, unless told
 * otherwise. The algorithm is `options.algorithm`, else the `alg` a JWK file names, else the
 * key's usual one.
 * @see {@link loadKeyFile}
 */
export async function loadGenerator(
  path: string,
  options: DPoPGeneratorOptions & LoadKeyOptions = {},
): Promise<DPoPGenerator> {
  const { key, alg } = loadKeyFile(path, options);
  // The algorithm the file was saved for, unless the caller names one.
  const algorithm = options.algorithm ?? (isDPoPAlgorithm(alg) ? alg : undefined);
  return generatorFromKey(key, { clock: options.clock, algorithm });
}

/** Options of {@link generateKeyFile}. */
export interface GenerateKeyFileOptions extends Omit<SaveKeyOptions, 'alg'> {
  /** Default `EdDSA`. RSA keys have 2048 bits. */
  algorithm?: DPoPClientAlgorithm;
  clock?: () => number;
}

/**
 * Makes a key pair, writes its private key to `path` (mode 0600; a JWK that keeps the
 * algorithm, or PKCS#8 PEM for a `*.pem` name) and returns its generator.
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_KEY_FILE_EXISTS` when the file exists and
 *   `overwrite` is not set
 */
export async function generateKeyFile(
  path: string,
  options: GenerateKeyFileOptions = {},
): Promise<DPoPGenerator> {
  const algorithm = options.algorithm ?? 'EdDSA';
  if (!(DPOP_CLIENT_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
      `"${String(algorithm)}" is not one of ${DPOP_CLIENT_ALGORITHMS.join(', ')}`,
    );
  }
  const key = await generateKeyObject(algorithm);
  savePrivateKey(key, path, { ...options, alg: algorithm });
  return generatorFromKey(key, { algorithm, clock: options.clock });
}
