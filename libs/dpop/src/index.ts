/**
 * nest-dpop: DPoP (RFC 9449) for NestJS. This barrel is the library's only public door.
 * @packageDocumentation
 */
export { DPoPModule } from './module/dpop.module.js';
export {
  DPOP_MODULE_OPTIONS,
  type DPoPModuleForRootOptions,
  type DPoPModuleAsyncOptions,
} from './module/dpop.module-definition.js';
export type {
  DPoPModuleOptions,
  ResolvedDPoPOptions,
  DPoPHttpRequest,
} from './options/dpop-module-options.interface.js';
export {
  DPOP_DEFAULTS,
  DPOP_RESOLVED_OPTIONS,
  DPOP_BOUND_KEY,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
  DPOP_REQUEST_RESULT,
  SUPPORTED_DPOP_ALGORITHMS,
  type DPoPAlgorithm,
} from './options/dpop.constants.js';
export {
  dpopOptionsFromEnv,
  resolveDPoPOptions,
  type DPoPEnvOptions,
} from './options/dpop-options.resolver.js';
export { DPoPGuard, type DPoPVerifiedRequest } from './guard/dpop.guard.js';
export {
  DPoPRequestPolicy,
  type DPoPRequestRoute,
  type DPoPRequestResult,
} from './request/dpop-request.policy.js';
export { DPoPBound, SkipDPoP, DPoPTokenEndpoint, JKT, DPoPProof } from './guard/dpop.decorators.js';
export {
  DPoPNonceIssuer,
  lowVarietySecret,
  type DPoPNonceOptions,
} from './verifier/dpop-nonce.issuer.js';
export {
  DPoPProofVerifier,
  sha256Base64url,
  type DPoPProofVerifierOptions,
  type DPoPVerifyInput,
  type VerifiedDPoPProof,
  type DPoPPublicJwk,
} from './verifier/dpop-proof.verifier.js';
export {
  DPoPError,
  JtiStoreUnavailableError,
  JtiStoreNonceRequiredError,
  TokenBindingUnavailableError,
  type DPoPErrorOptions,
  type DPoPErrorCode,
  type DPoPClaim,
} from './errors/dpop.errors.js';
export {
  DPOP_ERROR_INFO,
  type DPoPProblemSlug,
  type DPoPRefusal,
} from './http/dpop-http.mapping.js';
export {
  DPoPException,
  DPoPExceptionFactory,
  type DPoPProblemDetails,
  type DPoPOAuthErrorBody,
} from './http/dpop.exception.js';
export { setDPoPHeaders, type DPoPHeaderWritable } from './http/response-headers.util.js';
export {
  JtiStore,
  InjectJtiStore,
  type JtiStoreProofInfo,
  type JtiStoreReadiness,
} from './stores/jti-store.interface.js';
export { replayKey } from './stores/replay-key.util.js';
export { InMemoryJtiStore, type InMemoryJtiStoreOptions } from './stores/in-memory-jti.store.js';
export {
  RedisJtiStore,
  type RedisJtiStoreClient,
  type RedisJtiStoreNode,
  type RedisJtiStoreOptions,
} from './stores/redis/redis-jti.store.js';
export { normalizeHttpUri } from './verifier/http-uri.util.js';
export { isHttpHost, parseBooleanSetting } from './options/setting-syntax.util.js';
export {
  createRequestUrlResolver,
  type RequestUrlResolver,
} from './request/request-url.resolver.js';
export {
  parseAuthorization,
  jwtConfirmationJkt,
  type PresentedAccessToken,
} from './request/access-token.util.js';
export {
  answerClientErrorsWithProblems,
  answerMultipleHostsWithProblem,
} from './http/problem-client-error.handler.js';
export { type DPoPOptionsFactory, InjectDPoPOptions } from './options/dpop-options.factory.js';
export { DPOP_OPTION_NAMES } from './options/dpop-options.validator.js';
export { DPoPEvents } from './events/dpop-events.service.js';
export type {
  DPoPEvent,
  DPoPEventListener,
  DPoPEventType,
} from './events/dpop-events.interface.js';
