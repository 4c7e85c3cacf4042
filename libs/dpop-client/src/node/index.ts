/**
 * `nest-dpop-client/node`: what only Node.js offers, kept out of the WebCrypto core so that the
 * main entry runs in browsers, Deno, Bun and edge workers. Key files (0600, PEM or JWK,
 * passphrases) and `node:crypto` keys as proof signers.
 * @packageDocumentation
 */
export {
  keyObjectSigner,
  generatorFromKey,
  loadGenerator,
  generateKeyFile,
  type GenerateKeyFileOptions,
} from '../keys/node-generator.js';
export {
  savePrivateKey,
  loadPrivateKey,
  loadKeyFile,
  type LoadedKeyFile,
  type KeyFileFormat,
  type SaveKeyOptions,
  type LoadKeyOptions,
} from '../keys/key-store.js';
