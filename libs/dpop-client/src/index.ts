/**
 * The agent side of DPoP (RFC 9449): proofs, key files, a `fetch` wrapper with nonce handling,
 * and a client for ARCP's three-phase agent registration. No NestJS, no dependencies: only
 * `node:crypto`, `node:fs` and the platform `fetch`. This barrel is the library's only public door.
 * @packageDocumentation
 */
export {
  DPoPGenerator,
  DPOP_CLIENT_ALGORITHMS,
  accessTokenHash,
  htuOf,
  normalizeMethod,
  isValidNonce,
  type DPoPClientAlgorithm,
  type DPoPPublicJwk,
  type CreateProofOptions,
  type DPoPGeneratorOptions,
} from './dpop-generator.js';
export {
  savePrivateKey,
  loadPrivateKey,
  loadKeyFile,
  keyFileFormat,
  type LoadedKeyFile,
  type KeyFileFormat,
  type SaveKeyOptions,
  type LoadKeyOptions,
} from './key-store.js';
export {
  createDPoPFetch,
  isNonceChallenge,
  type DPoPFetch,
  type DPoPFetchOptions,
  type DPoPRequestInit,
} from './dpop-fetch.js';
export { DPoPNonceStore, DPOP_NONCE_HEADER } from './dpop-nonce.store.js';
export {
  parseWwwAuthenticate,
  dpopChallengeError,
  type AuthChallenge,
} from './www-authenticate.util.js';
export {
  ARCPClient,
  issuedToken,
  tokenTypeOf,
  type ARCPClientOptions,
  type ARCPRequestOptions,
  type ARCPResponse,
  type RegisterOptions,
  type ValidateComplianceOptions,
} from './arcp-client.js';
export type {
  AgentInfo,
  AgentRegistration,
  HeartbeatResponse,
  IssuedToken,
  RegistrationFlowResult,
  RegistrationResponse,
  RegistrationStep,
  TempTokenRequest,
  TempTokenResponse,
  TokenInput,
  ValidationIssue,
  ValidationRequest,
  ValidationStatusResponse,
  WithToken,
} from './arcp-client.types.js';
export {
  DPoPClientError,
  ARCPClientError,
  isClientError,
  type ProblemDetails,
  type DPoPClientErrorCode,
  type ARCPClientErrorCode,
} from './client.errors.js';
