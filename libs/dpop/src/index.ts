/**
 * nest-dpop: DPoP (RFC 9449) for NestJS. This barrel is the library's only public door: what a
 * Nest app imports (module, guard, decorators, options, stores, errors, events) and the verifier
 * for use without Nest. Test helpers are in `nest-dpop/testing`; `index.spec.ts` pins the list.
 * @packageDocumentation
 */
export { DPoPModule } from './module/dpop.module.js';
export type { DPoPModuleAsyncOptions } from './module/dpop.module-definition.js';
export type {
  DPoPModuleOptions,
  ResolvedDPoPOptions,
  DPoPHttpRequest,
} from './options/dpop-module-options.interface.js';
export {
  DPOP_DEFAULTS,
  DPOP_RESOLVED_OPTIONS,
  SUPPORTED_DPOP_ALGORITHMS,
  type DPoPAlgorithm,
} from './options/dpop.constants.js';
export { dpopOptionsFromEnv } from './options/dpop-options.resolver.js';
export type { DPoPProofBudgetOptions } from './request/proof-budget.limiter.js';
export { DPoPGuard, type DPoPVerifiedRequest } from './guard/dpop.guard.js';
export type { DPoPHeaderWritable } from './http/response-headers.util.js';
export {
  DPoPRequestPolicy,
  type DPoPRequestInput,
  type DPoPRequestRoute,
  type DPoPRequestResult,
} from './request/dpop-request.policy.js';
export type { PresentedAccessToken } from './request/access-token.util.js';
export {
  DPoPBound,
  DPoPRequired,
  SkipDPoP,
  DPoPTokenEndpoint,
  JKT,
  DPoPProof,
  type DPoPTokenEndpointOptions,
} from './guard/dpop.decorators.js';
export type { DPoPRouteOptions } from './request/dpop-route.options.js';
export {
  dpopBinding,
  dpopTokenResponse,
  type DPoPBindingClaims,
  type DPoPTokenResponse,
} from './issuing/dpop-token.util.js';
export { RequiredScopes, AccessTokenClaims } from './access-token/access-token.decorators.js';
export type { VerifiedAccessToken } from './access-token/access-token.types.js';
export type {
  DPoPAccessTokenOptions,
  AccessTokenIntrospectionOptions,
  AccessTokenJwk,
} from './access-token/access-token-options.interface.js';
export type { ProtectedResourceMetadataOptions } from './metadata/protected-resource-metadata.js';
export { DPoPNonceIssuer, type DPoPNonceOptions } from './verifier/dpop-nonce.issuer.js';
export {
  DPoPProofVerifier,
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
  type DPoPErrorCode,
  type DPoPErrorOptions,
  type DPoPClaim,
} from './errors/dpop.errors.js';
export {
  DPoPException,
  DPoPExceptionFactory,
  type DPoPProblemDetails,
  type DPoPOAuthErrorBody,
  type DPoPRefusal,
} from './http/dpop.exception.js';
export {
  JtiStore,
  InjectJtiStore,
  type JtiStoreProofInfo,
  type JtiStoreReadiness,
} from './stores/jti-store.interface.js';
export { InMemoryJtiStore, type InMemoryJtiStoreOptions } from './stores/in-memory-jti.store.js';
export {
  RedisJtiStore,
  type RedisJtiStoreClient,
  type RedisJtiStoreNode,
  type RedisJtiStoreOptions,
} from './stores/redis/redis-jti.store.js';
export {
  answerClientErrorsWithProblems,
  answerMultipleHostsWithProblem,
} from './http/problem-client-error.handler.js';
export { type DPoPOptionsFactory, InjectDPoPOptions } from './options/dpop-options.factory.js';
export { DPoPEvents } from './events/dpop-events.service.js';
export type {
  DPoPEvent,
  DPoPEventListener,
  DPoPEventType,
} from './events/dpop-events.interface.js';
