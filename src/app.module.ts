import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { getRedisConnectionToken, RedisModule } from '@nestjs-modules/ioredis';
import {
  DPoPModule,
  RedisJtiStore,
  type DPoPAccessTokenOptions,
  type DPoPModuleOptions,
} from 'nest-dpop';
import { AgentsModule } from './agents/agents.module.js';
import { ArcpDPoPGuard } from './auth/arcp-dpop.guard.js';
import { AuthModule } from './auth/auth.module.js';
import { TempTokenModule } from './auth/temp-token.module.js';
import { TOKEN_AUDIENCE } from './auth/token.types.js';
import { ProblemDetailsFilter } from './common/problem-details.filter.js';
import { PROBLEM_TYPE_BASE } from './common/problem.exception.js';
import { createValidationPipe } from './common/validation.pipe.js';
import type { AppConfig } from './config/app-config.js';
import { AppConfigModule } from './config/app-config.module.js';
import { publicSigningJwk } from './config/signing-key.config.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import {
  ensureRedisReady,
  redisModuleOptions,
  type AppRedisClient,
} from './storage/redis-connection.js';
import { StorageModule } from './storage/storage.module.js';
import { WellKnownModule } from './well-known/well-known.module.js';

/**
 * The app's own tokens, verified by the DPoP guard (once per token string, then cached until its
 * `exp`): signed by the server key (the local key set, so nothing is fetched), by its issuer,
 * for one of ARCP's three audiences. Which one a route takes, and the single use of validated
 * tokens, are ARCP's rules: `AgentTokenGuard`.
 */
async function accessTokenOptions(config: AppConfig): Promise<DPoPAccessTokenOptions> {
  return {
    audience: Object.values(TOKEN_AUDIENCE),
    issuer: config.issuer,
    keys: [await publicSigningJwk(config.signing)],
    algorithms: [config.signing.alg],
    clockTolerance: config.tokenLeeway,
  };
}

/** The DPoP options of the app's configuration (`ConfigService.get('arcp')`). */
async function dpopOptions(config: AppConfig): Promise<DPoPModuleOptions> {
  return {
    // The spec's clients send `Authorization: Bearer <token>` with a DPoP proof; DPoP is preferred.
    allowBearerBoundTokens: true,
    ...config.dpop,
    // ARCP's names, not the library's neutral defaults.
    problemTypeBase: PROBLEM_TYPE_BASE,
    // ARCP_PUBLIC_URL pins both the base htu is checked against and the one origin it may name.
    ...(config.publicUrl !== undefined && {
      publicUrl: config.publicUrl,
      allowedOrigins: [new URL(config.publicUrl).origin],
    }),
    accessToken: await accessTokenOptions(config),
  };
}

/**
 * The DPoP module from the `ConfigService`, with its replay store in Redis when there is one,
 * else in memory.
 */
function dpopModule(config: AppConfig): DynamicModule {
  const redis = config.redis;
  if (redis === undefined) {
    return DPoPModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (configService: ConfigService) =>
        dpopOptions(configService.getOrThrow<AppConfig>('arcp')),
    });
  }
  return DPoPModule.forRootAsync({
    inject: [ConfigService, getRedisConnectionToken()],
    useFactory: async (
      configService: ConfigService,
      client: AppRedisClient,
    ): Promise<DPoPModuleOptions> => {
      const base = await dpopOptions(configService.getOrThrow<AppConfig>('arcp'));
      // RedisJtiStore refuses (503) while its client is not ready: be ready before serving.
      await ensureRedisReady(client, redis.setting);
      const store = new RedisJtiStore(client, {
        keyPrefix: `${redis.keyPrefix}dpop:jti:`,
        // The history-loss window needs the module's skew (see RedisJtiStore).
        clockSkew: base.clockSkew,
      });
      return { ...base, store };
    },
  });
}

/**
 * The ARCP sample app. Built from an {@link AppConfig} (see `loadAppConfig`) rather than from
 * `process.env`, so tests boot it with their own settings.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const redis = config.redis;
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        ...(redis !== undefined
          ? [
              RedisModule.forRootAsync({
                imports: [],
                useFactory: () => redisModuleOptions(redis),
              }),
            ]
          : []),
        dpopModule(config),
        StorageModule.forRoot(config),
        AuthModule,
        TempTokenModule.forRoot(config),
        AgentsModule,
        WellKnownModule,
        HealthModule,
        MetricsModule,
      ],
      providers: [
        // DPoP first, on every route (but those marked @SkipDPoP()): the proof, and the app's
        // token verified once (the accessToken option); then each route's own token guard
        // (@AgentToken, ARCP's rules), which runs after the global guards. ArcpDPoPGuard is
        // DPoPGuard with ARCP's answers to a refused token.
        ArcpDPoPGuard,
        { provide: APP_GUARD, useExisting: ArcpDPoPGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
