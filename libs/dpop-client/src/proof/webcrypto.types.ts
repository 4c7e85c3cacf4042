/**
 * The small part of WebCrypto the core uses, typed here so that the package's declarations need
 * neither the DOM library nor `@types/node`: a DOM `CryptoKeyPair`, a Deno or Bun one and Node's
 * `webcrypto` keys all fit these shapes.
 */

/** A WebCrypto `CryptoKey`, as far as the generator reads it. */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: {
    readonly name: string;
    readonly namedCurve?: string;
    readonly hash?: { readonly name: string };
    readonly modulusLength?: number;
  };
  readonly usages: readonly string[];
}

/** A WebCrypto `CryptoKeyPair`. */
export interface WebCryptoKeyPair {
  readonly privateKey: WebCryptoKey;
  readonly publicKey: WebCryptoKey;
}

/** Algorithm parameters (`{ name: 'ECDSA', hash: 'SHA-256' }`, …). */
export type WebCryptoParams = { readonly name: string } & Readonly<Record<string, unknown>>;

/** The `SubtleCrypto` methods the core calls. */
export interface WebCryptoSubtle {
  generateKey(
    algorithm: WebCryptoParams,
    extractable: boolean,
    usages: string[],
  ): Promise<WebCryptoKeyPair>;
  importKey(
    format: 'jwk',
    key: object,
    algorithm: WebCryptoParams,
    extractable: boolean,
    usages: string[],
  ): Promise<WebCryptoKey>;
  exportKey(format: 'jwk', key: WebCryptoKey): Promise<Record<string, unknown>>;
  exportKey(format: 'spki', key: WebCryptoKey): Promise<ArrayBuffer>;
  sign(algorithm: WebCryptoParams, key: WebCryptoKey, data: Uint8Array): Promise<ArrayBuffer>;
  verify(
    algorithm: WebCryptoParams,
    key: WebCryptoKey,
    signature: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean>;
}
