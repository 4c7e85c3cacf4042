/**
 * The agent side of DPoP (RFC 9449): the proof generator, key files, a `fetch` wrapper that
 * answers nonce challenges, its nonce store, and errors with stable codes. No NestJS, no
 * dependencies. The ARCP registration client is `nest-dpop-client/arcp`.
 * @packageDocumentation
 */
export {
  DPoPGenerator,
  DPOP_CLIENT_ALGORITHMS,
  accessTokenHash,
  htuOf,
  type DPoPClientAlgorithm,
  type DPoPPublicJwk,
  type CreateProofOptions,
  type DPoPGeneratorOptions,
} from './proof/dpop-generator.js';
export {
  savePrivateKey,
  loadPrivateKey,
  loadKeyFile,
  type LoadedKeyFile,
  type KeyFileFormat,
  type SaveKeyOptions,
  type LoadKeyOptions,
} from './keys/key-store.js';
export {
  createDPoPFetch,
  isNonceChallenge,
  type DPoPFetch,
  type DPoPFetchOptions,
  type DPoPRequestInit,
} from './fetch/dpop-fetch.js';
export { DPoPNonceStore, DPOP_NONCE_HEADER } from './fetch/dpop-nonce.store.js';
export {
  parseWwwAuthenticate,
  dpopChallengeError,
  type AuthChallenge,
} from './fetch/www-authenticate.util.js';
export {
  DPoPClientError,
  isClientError,
  type ProblemDetails,
  type DPoPClientErrorCode,
} from './errors/client.errors.js';
