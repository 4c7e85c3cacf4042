import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import {
  DPOP_ALGORITHMS,
  isDPoPAlgorithm,
  thumbprintInput,
  type DPoPAlgorithm,
  type DPoPPublicJwk,
} from './dpop-algorithms.table.js';
import { algorithmFor, generateKeyObject, publicJwkOf, signerOf } from './dpop-key.util.js';
import { DPoPClientError } from './client.errors.js';
import {
  loadKeyFile,
  savePrivateKey,
  type LoadKeyOptions,
  type SaveKeyOptions,
} from './key-store.js';

/** Proof signing algorithms the client can use: the ones the server library verifies. */
export const DPOP_CLIENT_ALGORITHMS = DPOP_ALGORITHMS;

/** One of {@link DPOP_CLIENT_ALGORITHMS}. */
export type DPoPClientAlgorithm = DPoPAlgorithm;

export type { DPoPPublicJwk } from './dpop-algorithms.table.js';

/** What one proof is for (RFC 9449 §4.2). */
export interface CreateProofOptions {
  /** The HTTP method of the request, e.g. `POST`. Normalised as `fetch` normalises it. */
  method: string;
  /** The absolute http(s) URL of the request. Its query and fragment are left out of `htu`. */
  url: string | URL;
  /** The access token sent with the request: the proof then carries its hash as `ath`. */
  accessToken?: string;
  /** A nonce the server gave in a `DPoP-Nonce` header. */
  nonce?: string;
}

/** Options of {@link DPoPGenerator}. */
export interface DPoPGeneratorOptions {
  /**
   * The proof `alg`; it must suit the key. Default: the key's usual name: `EdDSA` for Ed25519
   * (set `Ed25519` for RFC 9864's name), `Ed448`, `ES256`/`ES384`/`ES512` by curve, `RS256` for
   * RSA (or `RS384`, `RS512`, `PS256`, `PS384`, `PS512`).
   */
  algorithm?: DPoPClientAlgorithm;
  /** Clock in milliseconds since the epoch, for `iat`. Default `Date.now`. */
  clock?: () => number;
}

/** HTTP method token (RFC 9110 §9.1). */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Methods `fetch` upper-cases (Fetch standard, "normalize a method"); others are sent as given. */
const FETCH_NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** RFC 9449 §8.1: a nonce is 1*NQCHAR, so it can be put in a JSON string and a header as is. */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Base64url(SHA-256(token)): the `ath` claim for an access token (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'utf8').digest('base64url');
}

/**
 * The method as `fetch` will send it, so that `htm` equals what the server sees.
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_REQUEST` if it is not an HTTP method token
 */
export function normalizeMethod(method: string): string {
  if (!METHOD_TOKEN.test(method)) {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_INVALID_REQUEST',
      `"${method}" is not an HTTP method`,
    );
  }
  const upper = method.toUpperCase();
  return FETCH_NORMALIZED_METHODS.has(upper) ? upper : method;
}

/**
 * The `htu` of a request URL: `scheme://host[:port]/path`, without query and fragment
 * (RFC 9449 §4.2), after the same WHATWG parsing `fetch` applies, so that it names exactly the
 * target `fetch` sends.
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_REQUEST` for anything but an absolute
 *   http(s) URL without user information
 */
export function htuOf(url: string | URL): string {
  const parsed = URL.parse(String(url));
  if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_INVALID_REQUEST',
      `DPoP proofs are for absolute http(s) URLs, got "${String(url)}"`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // fetch refuses such URLs too; and a password must never end up in a signed claim.
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_INVALID_REQUEST',
      'URL must not contain user information',
    );
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/**
 * Makes DPoP proofs (RFC 9449 §4) with one key pair: the TypeScript counterpart of the spec's
 * Python `DPoPGenerator`.
 *
 * The public JWK, its thumbprint and the encoded JWS header are computed once, at construction;
 * each proof then costs one JSON encoding and one signature. The private key lives in a private
 * field: `JSON.stringify`, `console.log` and `util.inspect` show only the algorithm and `jkt`.
 *
 * @example
 * ```ts
 * const dpop = await DPoPGenerator.generate('EdDSA');
 * const url = 'https://arcp.example.com/auth/agent/request_temp_token';
 * const proof = dpop.createProof({ method: 'POST', url });
 * await fetch(url, { method: 'POST', headers: { DPoP: proof } });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export class DPoPGenerator {
  /** The proof `alg`. */
  readonly algorithm: DPoPClientAlgorithm;
  /** The public key, as it appears in every proof header. Frozen. */
  readonly publicJwk: Readonly<DPoPPublicJwk>;
  /** The RFC 7638 SHA-256 thumbprint of the public key: what a bound token's `cnf.jkt` holds. */
  readonly jkt: string;

  readonly #privateKey: KeyObject;
  readonly #sign: (input: Buffer) => Buffer;
  /** base64url(JSON header) + '.', the same for every proof. */
  readonly #headerPrefix: string;
  readonly #clock: () => number;

  /**
   * @param privateKey an Ed25519, Ed448, P-256, P-384, P-521 or RSA (2048–8192 bits) private key
   * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_KEY` for a public or secret key,
   *   `ERR_DPOP_CLIENT_UNSUPPORTED_ALG` for another kind of key
   */
  constructor(privateKey: KeyObject, options: DPoPGeneratorOptions = {}) {
    if (privateKey.type !== 'private') {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        `a DPoP generator needs a private key, got a ${privateKey.type} key`,
      );
    }
    this.algorithm = algorithmFor(privateKey, options.algorithm);
    const jwk = publicJwkOf(privateKey);
    this.publicJwk = Object.freeze(jwk);
    this.jkt = createHash('sha256').update(thumbprintInput(jwk)).digest('base64url');
    this.#privateKey = privateKey;
    this.#sign = signerOf(privateKey, this.algorithm);
    const header = { typ: 'dpop+jwt', alg: this.algorithm, jwk };
    this.#headerPrefix = Buffer.from(JSON.stringify(header)).toString('base64url') + '.';
    this.#clock = options.clock ?? Date.now;
  }

  /** A generator with a new random key pair (RSA: 2048 bits). */
  static async generate(
    algorithm: DPoPClientAlgorithm = 'EdDSA',
    options?: DPoPGeneratorOptions,
  ): Promise<DPoPGenerator> {
    if (!(DPOP_CLIENT_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
        `"${String(algorithm)}" is not one of ${DPOP_CLIENT_ALGORITHMS.join(', ')}`,
      );
    }
    return new DPoPGenerator(await generateKeyObject(algorithm), { ...options, algorithm });
  }

  /**
   * A generator for a private key in PEM (PKCS#8, SEC1 or PKCS#1) or JWK form.
   * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_KEY` if it is not a private key
   */
  static fromKey(
    key: string | Buffer | Record<string, unknown>,
    options?: DPoPGeneratorOptions & { passphrase?: string },
  ): DPoPGenerator {
    let keyObject: KeyObject;
    try {
      keyObject =
        typeof key === 'string' || Buffer.isBuffer(key)
          ? createPrivateKey({ key, format: 'pem', passphrase: options?.passphrase })
          : createPrivateKey({ key: key, format: 'jwk' });
    } catch (cause) {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        'not a private key in PEM or JWK form',
        { cause },
      );
    }
    const named = typeof key === 'object' && !Buffer.isBuffer(key) ? key.alg : undefined;
    const algorithm = options?.algorithm ?? (isDPoPAlgorithm(named) ? named : undefined);
    return new DPoPGenerator(keyObject, { ...options, algorithm });
  }

  /**
   * A generator for a key file written by {@link DPoPGenerator.save} (or any PEM/JWK private key
   * file). Refuses a file that group or others can access, unless told otherwise.
   * The algorithm is `options.algorithm`, else the `alg` a JWK file names, else the key's usual one.
   * @see {@link loadKeyFile}
   */
  static fromFile(path: string, options?: DPoPGeneratorOptions & LoadKeyOptions): DPoPGenerator {
    const { key, alg } = loadKeyFile(path, options);
    // The algorithm the file was saved for, unless the caller names one.
    const algorithm = options?.algorithm ?? (isDPoPAlgorithm(alg) ? alg : undefined);
    return new DPoPGenerator(key, { ...options, algorithm });
  }

  /**
   * Writes the private key to `path` (mode 0600), as a JWK unless the name ends in `.pem` or
   * `format: 'pem'` is given.
   * @see {@link savePrivateKey}
   */
  save(path: string, options?: SaveKeyOptions): void {
    savePrivateKey(this.#privateKey, path, { ...options, alg: this.algorithm });
  }

  /**
   * A new proof for one request: a fresh random `jti`, the current `iat`, `htm`, `htu` without
   * query and fragment, and `ath` / `nonce` when given. Never reuse a proof: servers refuse a
   * repeated `jti`.
   * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_REQUEST` for a URL or method a proof
   *   cannot name, or a nonce that is not RFC 9449 syntax
   */
  createProof(options: CreateProofOptions): string {
    const claims: Record<string, string | number> = {
      jti: randomUUID(),
      htm: normalizeMethod(options.method),
      htu: htuOf(options.url),
      iat: Math.floor(this.#clock() / 1000),
    };
    if (options.accessToken !== undefined) claims.ath = accessTokenHash(options.accessToken);
    if (options.nonce !== undefined) {
      if (!NONCE.test(options.nonce)) {
        throw new DPoPClientError(
          'ERR_DPOP_CLIENT_INVALID_REQUEST',
          'nonce is not a valid DPoP nonce',
        );
      }
      claims.nonce = options.nonce;
    }
    const input = this.#headerPrefix + Buffer.from(JSON.stringify(claims)).toString('base64url');
    return input + '.' + this.#sign(Buffer.from(input, 'latin1')).toString('base64url');
  }

  /** The public key as an SPKI PEM, e.g. for ARCP's `public_key` registration field. */
  get publicKeyPem(): string {
    return createPublicKey(this.#privateKey).export({ type: 'spki', format: 'pem' }) as string;
  }

  /** What `JSON.stringify` shows: the public parts only. */
  toJSON(): { alg: DPoPClientAlgorithm; jkt: string; jwk: Readonly<DPoPPublicJwk> } {
    return { alg: this.algorithm, jkt: this.jkt, jwk: this.publicJwk };
  }

  /** What `console.log` / `util.inspect` show: the public parts only. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DPoPGenerator { alg: '${this.algorithm}', jkt: '${this.jkt}' }`;
  }

  /** Same as `inspect`: a generator in a template string shows no key material. */
  toString(): string {
    return `DPoPGenerator(${this.algorithm}, jkt=${this.jkt})`;
  }
}

/** `true` if `value` is a valid `DPoP-Nonce` value (RFC 9449 §8.1). */
export function isValidNonce(value: string): boolean {
  return NONCE.test(value);
}
