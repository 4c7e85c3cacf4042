/**
 * The agent side of DPoP (RFC 9449): the proof generator and its signers (WebCrypto keys, KMS,
 * HSM), a `fetch` wrapper that answers nonce challenges, its nonce store, and errors with stable
 * codes. WebCrypto only, no `node:` import (a test pins it): it runs in Node, Deno, Bun,
 * browsers and edge workers. Key files are `nest-dpop-client/node`; the ARCP registration client
 * is `nest-dpop-client/arcp`.
 * @packageDocumentation
 */
export {
  DPoPGenerator,
  DPOP_CLIENT_ALGORITHMS,
  accessTokenHash,
  htuOf,
  type DPoPClientAlgorithm,
  type DPoPPublicJwk,
  type DPoPSigner,
  type DPoPSignerOptions,
  type CreateProofOptions,
  type DPoPGeneratorOptions,
  type WebCryptoKey,
  type WebCryptoKeyPair,
} from './proof/dpop-generator.js';
export {
  createDPoPFetch,
  isNonceChallenge,
  type DPoPFetch,
  type DPoPFetchOptions,
  type DPoPRequestInit,
} from './fetch/dpop-fetch.js';
export {
  DPoPNonceStore,
  DPOP_NONCE_HEADER,
  type DPoPNonceStorage,
} from './fetch/dpop-nonce.store.js';
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
