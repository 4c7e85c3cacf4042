import { DPoPClientError } from '../errors/client.errors.js';
import {
  DPOP_ALGORITHMS,
  DPOP_ALGORITHM_SPECS,
  thumbprintInput,
  type DPoPAlgorithm,
  type DPoPPublicJwk,
} from './dpop-algorithms.table.js';
import {
  algorithmOfCryptoKey,
  joseSignature,
  publicJwkFor,
  unsupported,
  webCryptoParams,
  type DPoPSigner,
} from './dpop-signer.js';
export type { DPoPSigner };
import { base64url, utf8 } from './encoding.util.js';
import { sha256 } from './sha256.util.js';
import { spkiPem } from './spki.util.js';
import type {
  WebCryptoKey,
  WebCryptoKeyPair,
  WebCryptoParams,
  WebCryptoSubtle,
} from './webcrypto.types.js';

export type { WebCryptoKey, WebCryptoKeyPair } from './webcrypto.types.js';

/** Proof signing algorithms the client can use: the ones the server library verifies. */
export const DPOP_CLIENT_ALGORITHMS = DPOP_ALGORITHMS;

/** One of {@link DPOP_CLIENT_ALGORITHMS}. */
export type DPoPClientAlgorithm = (typeof DPOP_CLIENT_ALGORITHMS)[number];

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

/** Options of {@link DPoPGenerator}'s factories. */
export interface DPoPGeneratorOptions {
  /**
   * The proof `alg`; it must suit the key. Default: the key's usual name: `EdDSA` for Ed25519
   * (set `Ed25519` for RFC 9864's name), `Ed448`, `ES256`/`ES384`/`ES512` by curve; a WebCrypto
   * RSA key's own hash and padding (`RS256`, `PS384`, …).
   */
  algorithm?: DPoPClientAlgorithm;
  /** Clock in milliseconds since the epoch, for `iat`. Default `Date.now`. */
  clock?: () => number;
}

/** Options of {@link DPoPGenerator.fromSigner}. */
export interface DPoPSignerOptions {
  /** Clock in milliseconds since the epoch, for `iat`. Default `Date.now`. */
  clock?: () => number;
  /**
   * Sign one probe at creation and verify it with the public JWK (WebCrypto), so that a signer
   * whose key is not the JWK's, or that answers in another form, fails here rather than at the
   * server. Default `true`; skipped where WebCrypto cannot verify the algorithm (Ed448 in
   * browsers). Costs one signature (one KMS call).
   */
  verify?: boolean;
}

/** HTTP method token (RFC 9110 §9.1). */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Methods `fetch` upper-cases (Fetch standard, "normalize a method"); others are sent as given. */
const FETCH_NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** RFC 9449 §8.1: a nonce is 1*NQCHAR, so it can be put in a JSON string and a header as is. */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Base64url(SHA-256(token)): the `ath` claim for an access token (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return base64url(sha256(utf8(accessToken)));
}

/** The RFC 7638 SHA-256 thumbprint of a public JWK. */
function thumbprint(jwk: DPoPPublicJwk): string {
  return base64url(sha256(utf8(thumbprintInput(jwk))));
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

/** WebCrypto, wherever the package runs: Node >= 20.19, Deno, Bun, browsers, edge workers. */
function subtle(): WebCryptoSubtle {
  const crypto = (globalThis as unknown as { crypto?: { subtle?: WebCryptoSubtle } }).crypto;
  if (crypto?.subtle === undefined) {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
      'WebCrypto (globalThis.crypto.subtle) is not available here (browsers offer it on https: and localhost only)',
    );
  }
  return crypto.subtle;
}

/** The new key's generation parameters (RSA: 2048 bits, e = 65537). */
function generateParams(alg: DPoPAlgorithm): WebCryptoParams {
  const { key } = webCryptoParams(alg);
  if (DPOP_ALGORITHM_SPECS[alg].kty !== 'RSA') return key;
  return {
    ...key,
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  };
}

/** The pieces a generator is made of, computed once by its factories. */
interface GeneratorParts {
  algorithm: DPoPAlgorithm;
  publicJwk: DPoPPublicJwk;
  sign: (input: Uint8Array) => Promise<Uint8Array>;
  clock?: () => number;
}

/**
 * Makes DPoP proofs (RFC 9449 §4) with one key: the TypeScript counterpart of the spec's Python
 * `DPoPGenerator`. The key is whatever can sign: a non-extractable WebCrypto key
 * ({@link DPoPGenerator.generate}, {@link DPoPGenerator.fromKeyPair}), a KMS, an HSM or a TPM
 * ({@link DPoPGenerator.fromSigner}), or a key file (`nest-dpop-client/node`). This class uses
 * WebCrypto only, so it runs in Node, Deno, Bun, browsers and edge workers.
 *
 * The public JWK, its thumbprint and the encoded JWS header are computed once; each proof then
 * costs one JSON encoding and one signature. The key is never exposed: `JSON.stringify`,
 * `console.log` and `util.inspect` show only the algorithm and `jkt`.
 *
 * @example
 * ```ts
 * const dpop = await DPoPGenerator.generate('ES256'); // a non-extractable key
 * const url = 'https://arcp.example.com/auth/agent/request_temp_token';
 * const proof = await dpop.createProof({ method: 'POST', url });
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

  readonly #sign: (input: Uint8Array) => Promise<Uint8Array>;
  /** base64url(JSON header) + '.', the same for every proof. */
  readonly #headerPrefix: string;
  readonly #clock: () => number;

  private constructor(parts: GeneratorParts) {
    this.algorithm = parts.algorithm;
    this.publicJwk = Object.freeze(parts.publicJwk);
    this.jkt = thumbprint(parts.publicJwk);
    this.#sign = parts.sign;
    const header = { typ: 'dpop+jwt', alg: parts.algorithm, jwk: parts.publicJwk };
    this.#headerPrefix = base64url(JSON.stringify(header)) + '.';
    this.#clock = parts.clock ?? Date.now;
  }

  /**
   * A generator with a new WebCrypto key pair whose private key is **not extractable**: it can
   * sign, and nothing (no script, no `exportKey`) can read it. RSA: 2048 bits. For a key that
   * outlives the process, keep the `WebCryptoKeyPair` (IndexedDB stores it as is) and use
   * {@link DPoPGenerator.fromKeyPair}, or use a key file (`nest-dpop-client/node`).
   */
  static async generate(
    algorithm: DPoPClientAlgorithm = 'EdDSA',
    options: Omit<DPoPGeneratorOptions, 'algorithm'> = {},
  ): Promise<DPoPGenerator> {
    if (!(DPOP_CLIENT_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw unsupported(
        `"${String(algorithm)}" is not one of ${DPOP_CLIENT_ALGORITHMS.join(', ')}`,
      );
    }
    let pair: WebCryptoKeyPair;
    try {
      pair = await subtle().generateKey(generateParams(algorithm), false, ['sign', 'verify']);
    } catch (cause) {
      if (cause instanceof DPoPClientError) throw cause;
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
        `this runtime's WebCrypto cannot make ${algorithm} keys`,
        { cause },
      );
    }
    return DPoPGenerator.fromKeyPair(pair, { ...options, algorithm });
  }

  /**
   * A generator for a WebCrypto key pair (extractable or not): Ed25519, Ed448, ECDSA on P-256,
   * P-384 or P-521, RSASSA-PKCS1-v1_5 or RSA-PSS of 2048 to 8192 bits.
   * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_KEY` when the private key cannot sign,
   *   `ERR_DPOP_CLIENT_UNSUPPORTED_ALG` for another kind of key or an algorithm it does not suit
   */
  static async fromKeyPair(
    pair: WebCryptoKeyPair,
    options: DPoPGeneratorOptions = {},
  ): Promise<DPoPGenerator> {
    const { privateKey, publicKey } = pair ?? {};
    if (privateKey?.type !== 'private' || publicKey?.type !== 'public') {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        'a DPoP generator needs a WebCryptoKeyPair ({ privateKey, publicKey })',
      );
    }
    if (!privateKey.usages.includes('sign')) {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        'the private key was made without the "sign" usage',
      );
    }
    const algorithm = algorithmOfCryptoKey(privateKey, options.algorithm);
    // Public keys are always extractable, whatever the pair was made with.
    const jwk = await subtle().exportKey('jwk', publicKey);
    const publicJwk = publicJwkFor(algorithm, jwk);
    const params = webCryptoParams(algorithm).sign;
    const crypto = subtle();
    // WebCrypto's ECDSA signatures are already r || s; the length is still checked.
    const sign = joseSignature(
      {
        alg: algorithm,
        publicJwk: jwk,
        sign: (input) => crypto.sign(params, privateKey, input),
      },
      publicJwk,
    );
    return new DPoPGenerator({ algorithm, publicJwk, sign, clock: options.clock });
  }

  /**
   * A generator for a key held elsewhere: a cloud KMS (AWS, Google Cloud, Azure), a PKCS#11 HSM,
   * a TPM, a remote signing service. The signer gives the algorithm, the public JWK and a
   * `sign(bytes)`; its ECDSA signatures may be DER (`signatureFormat: 'der'`), converted and
   * checked here. By default one probe signature is verified against the JWK at creation.
   * @throws {DPoPClientError} `ERR_DPOP_CLIENT_UNSUPPORTED_ALG` for an algorithm the JWK does not
   *   suit, `ERR_DPOP_CLIENT_INVALID_KEY` for a JWK without valid members or whose key did not
   *   make the probe signature, `ERR_DPOP_CLIENT_INVALID_SIGNATURE` / `ERR_DPOP_CLIENT_SIGNER`
   *   when the signer answers in another form or fails
   */
  static async fromSigner(
    signer: DPoPSigner,
    options: DPoPSignerOptions = {},
  ): Promise<DPoPGenerator> {
    if (typeof signer?.sign !== 'function') {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        'a signer needs a sign(bytes) function',
      );
    }
    if (!(DPOP_CLIENT_ALGORITHMS as readonly string[]).includes(signer.alg)) {
      throw unsupported(
        `"${String(signer.alg)}" is not one of ${DPOP_CLIENT_ALGORITHMS.join(', ')}`,
      );
    }
    if (signer.signatureFormat !== undefined && !['raw', 'der'].includes(signer.signatureFormat)) {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_KEY',
        'signatureFormat must be "raw" or "der"',
      );
    }
    const publicJwk = publicJwkFor(signer.alg, signer.publicJwk ?? {});
    const sign = joseSignature(signer, publicJwk);
    if (options.verify !== false) await probe(signer.alg, publicJwk, sign);
    return new DPoPGenerator({ algorithm: signer.alg, publicJwk, sign, clock: options.clock });
  }

  /**
   * A new proof for one request: a fresh random `jti`, the current `iat`, `htm`, `htu` without
   * query and fragment, and `ath` / `nonce` when given. Never reuse a proof: servers refuse a
   * repeated `jti`.
   * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_REQUEST` for a URL or method a proof
   *   cannot name, or a nonce that is not RFC 9449 syntax; the signer's errors
   */
  async createProof(options: CreateProofOptions): Promise<string> {
    const claims: Record<string, string | number> = {
      jti: globalThis.crypto.randomUUID(),
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
    const input = this.#headerPrefix + base64url(JSON.stringify(claims));
    // The signing input is ASCII (base64url and '.'): its UTF-8 bytes are its characters.
    return input + '.' + base64url(await this.#sign(utf8(input)));
  }

  /** The public key as an SPKI PEM, e.g. for ARCP's `public_key` registration field. */
  get publicKeyPem(): string {
    return spkiPem(this.publicJwk);
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

/** Signs a probe and verifies it with the public JWK; skipped where WebCrypto lacks the key type. */
async function probe(
  alg: DPoPAlgorithm,
  publicJwk: DPoPPublicJwk,
  sign: (input: Uint8Array) => Promise<Uint8Array>,
): Promise<void> {
  const params = webCryptoParams(alg);
  const crypto = subtle();
  let key: WebCryptoKey;
  try {
    key = await crypto.importKey('jwk', publicJwk, params.key, false, ['verify']);
  } catch {
    return; // e.g. Ed448 in a browser: the server will judge the first proof.
  }
  const input = utf8(`nest-dpop-client signer probe ${globalThis.crypto.randomUUID()}`);
  const signature = await sign(input);
  if (!(await crypto.verify(params.sign, key, signature, input))) {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_INVALID_KEY',
      `the signer's ${alg} signature does not verify with its public JWK (another key? another algorithm?)`,
    );
  }
}

/** `true` if `value` is a valid `DPoP-Nonce` value (RFC 9449 §8.1). */
export function isValidNonce(value: string): boolean {
  return NONCE.test(value);
}
