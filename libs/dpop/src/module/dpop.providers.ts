import { Logger, type Provider } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import { DPOP_MODULE_OPTIONS } from './dpop.module-definition.js';
import type {
  DPoPModuleOptions,
  ResolvedDPoPOptions,
} from '../options/dpop-module-options.interface.js';
import { dpopOptionsWarnings, resolveDPoPOptions } from '../options/dpop-options.resolver.js';
import { requestUrlWarning } from '../request/request-url.resolver.js';
import { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';
import { DPoPGuard } from '../guard/dpop.guard.js';
import { DPoPExceptionFactory } from '../http/dpop.exception.js';
import { DPoPEvents } from '../events/dpop-events.service.js';
import { DPoPGraphqlCheck } from './dpop-graphql.check.js';
import { DPoPAccessTokenCheck } from './dpop-access-token.check.js';
import { DPoPRouteNonceCheck } from './dpop-route-nonce.check.js';
import { ProtectedResourceMetadataPublisher } from '../metadata/protected-resource-metadata.publisher.js';
import { InMemoryJtiStore } from '../stores/in-memory-jti.store.js';
import { JtiStore } from '../stores/jti-store.interface.js';

/** Everything the module provides, derived from its options once at start-up. */
export const dpopProviders: Provider[] = [
  {
    provide: DPOP_RESOLVED_OPTIONS,
    useFactory: (options: DPoPModuleOptions) => {
      const resolved = resolveDPoPOptions(options);
      const warnings = [...dpopOptionsWarnings(resolved), requestUrlWarning(resolved)];
      for (const warning of warnings) if (warning) new Logger('DPoPModule').warn(warning);
      return resolved;
    },
    inject: [DPOP_MODULE_OPTIONS],
  },
  {
    // The embedded default is process-local; pass `store` (e.g. a RedisJtiStore) to share it.
    provide: JtiStore,
    useFactory: (options: ResolvedDPoPOptions) => options.store ?? new InMemoryJtiStore(),
    inject: [DPOP_RESOLVED_OPTIONS],
  },
  {
    provide: DPoPProofVerifier,
    useFactory: (options: ResolvedDPoPOptions, store: JtiStore) =>
      new DPoPProofVerifier(store, options),
    inject: [DPOP_RESOLVED_OPTIONS, JtiStore],
  },
  DPoPEvents,
  DPoPGuard,
  DPoPExceptionFactory,
  // Refuses the start-up when a GraphQL field resolver would be served without the guard.
  DPoPGraphqlCheck,
  // Refuses @RequiredScopes() without token verification; warns about unverified bindings.
  DPoPAccessTokenCheck,
  // Refuses routes that require nonces (nonce: true) when no nonce issuer is configured.
  DPoPRouteNonceCheck,
  // Serves the RFC 9728 documents of the protectedResource option.
  ProtectedResourceMetadataPublisher,
];
