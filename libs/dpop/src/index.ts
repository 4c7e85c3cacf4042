/**
 * nest-dpop: DPoP (RFC 9449) for NestJS. This barrel is the library's only public door.
 * @packageDocumentation
 */
export { DPoPModule } from './dpop.module.js';
export {
  DPOP_MODULE_OPTIONS,
  type DPoPModuleForRootOptions,
  type DPoPModuleAsyncOptions,
} from './dpop.module-definition.js';
export type {
  DPoPModuleOptions,
  ResolvedDPoPOptions,
  DPoPHttpRequest,
} from './dpop-module-options.interface.js';
export {
  DPOP_DEFAULTS,
  DPOP_RESOLVED_OPTIONS,
  DPOP_BOUND_KEY,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
  DPOP_REQUEST_RESULT,
  SUPPORTED_DPOP_ALGORITHMS,
  type DPoPAlgorithm,
} from './dpop.constants.js';
export {
  dpopOptionsFromEnv,
  resolveDPoPOptions,
  type DPoPEnvOptions,
} from './dpop-options.util.js';
export { DPoPGuard } from './dpop.guard.js';
export { DPoPBound, SkipDPoP, DPoPTokenEndpoint, JKT, DPoPProof } from './dpop.decorators.js';
export { DPoPNonceIssuer, lowVarietySecret, type DPoPNonceOptions } from './dpop-nonce.issuer.js';
export {
  DPoPProofVerifier,
  sha256Base64url,
  type DPoPProofVerifierOptions,
  type DPoPVerifyInput,
  type VerifiedDPoPProof,
  type DPoPPublicJwk,
} from './dpop-proof.verifier.js';
export {
  DPoPError,
  JtiStoreUnavailableError,
  JtiStoreNonceRequiredError,
  DPOP_ERROR_INFO,
  type DPoPErrorOptions,
  type DPoPErrorCode,
  type DPoPProblemSlug,
} from './dpop.errors.js';
export {
  DPoPException,
  DPoPExceptionFactory,
  setDPoPHeaders,
  type DPoPHeaderWritable,
  type DPoPProblemDetails,
  type DPoPOAuthErrorBody,
} from './dpop.exception.js';
export {
  JtiStore,
  InjectJtiStore,
  type JtiStoreProofInfo,
  type JtiStoreReadiness,
} from './jti-store.interface.js';
export { replayKey } from './jti-key.util.js';
export { InMemoryJtiStore, type InMemoryJtiStoreOptions } from './in-memory-jti.store.js';
export {
  RedisJtiStore,
  type RedisJtiStoreClient,
  type RedisJtiStoreNode,
  type RedisJtiStoreOptions,
} from './redis-jti.store.js';
export { normalizeHttpUri } from './http-uri.util.js';
export { isHttpHost, parseBooleanSetting } from './syntax.util.js';
export { createRequestUrlResolver, type RequestUrlResolver } from './request-url.util.js';
export {
  parseAuthorization,
  jwtConfirmationJkt,
  type PresentedAccessToken,
} from './access-token.util.js';
export {
  answerClientErrorsWithProblems,
  answerMultipleHostsWithProblem,
} from './problem-client-error.handler.js';
export { type DPoPOptionsFactory, InjectDPoPOptions } from './dpop-options.factory.js';
export { DPOP_OPTION_NAMES } from './dpop-options.validator.js';
export { DPoPEvents } from './dpop-events.service.js';
export type { DPoPEvent, DPoPEventListener, DPoPEventType } from './dpop-events.interface.js';
