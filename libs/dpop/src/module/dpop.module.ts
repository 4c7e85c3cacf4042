import { Module } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import { ConfigurableDPoPModule, DPOP_MODULE_OPTIONS } from './dpop.module-definition.js';
import { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';
import { DPoPGuard } from '../guard/dpop.guard.js';
import { DPoPExceptionFactory } from '../http/dpop.exception.js';
import { DPoPEvents } from '../events/dpop-events.service.js';
import { dpopProviders } from './dpop.providers.js';
import { JtiStore } from '../stores/jti-store.interface.js';

/**
 * DPoP for NestJS. Import once, at the root:
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [DPoPModule.forRoot({ required: true })],
 *   providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
 * })
 * export class AppModule {}
 * ```
 *
 * or with injected settings, e.g. a Redis replay store. Read the environment inside the factory
 * (or with `fromEnv: true`), never while the module is imported, so that a bad `DPOP_*` value
 * stops Nest's start-up with a message naming it:
 *
 * ```ts
 * DPoPModule.forRootAsync({
 *   inject: [getRedisConnectionToken()],
 *   useFactory: (redis: Redis) => ({ ...dpopOptionsFromEnv(), store: new RedisJtiStore(redis) }),
 * })
 * ```
 *
 * `forRootAsync({ useClass })` / `({ useExisting })` take a {@link DPoPOptionsFactory}.
 *
 * Global by default (`isGlobal: false` to opt out). Provides and exports {@link DPoPGuard},
 * {@link DPoPProofVerifier}, {@link DPoPExceptionFactory}, the {@link JtiStore} and
 * {@link DPoPEvents}.
 */
@Module({
  providers: dpopProviders,
  exports: [
    DPoPGuard,
    DPoPProofVerifier,
    JtiStore,
    DPoPExceptionFactory,
    DPoPEvents,
    DPOP_RESOLVED_OPTIONS,
    DPOP_MODULE_OPTIONS,
  ],
})
export class DPoPModule extends ConfigurableDPoPModule {}
