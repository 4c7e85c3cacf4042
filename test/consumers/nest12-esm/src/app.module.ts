import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { DPoPGuard, DPoPModule, JKT, RedisJtiStore, SkipDPoP } from 'nest-dpop';
import { DPoPHealthIndicator } from 'nest-dpop/terminus';
import { KEY_PREFIX, REDIS, RedisModule } from './redis.module.js';

@Controller()
export class MeController {
  @Get('me')
  me(@JKT() jkt: string | undefined): { jkt: string | null } {
    return { jkt: jkt ?? null };
  }
}

@SkipDPoP()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dpop: DPoPHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.dpop.isHealthy()]);
  }
}

@Module({
  imports: [
    RedisModule,
    TerminusModule,
    DPoPModule.forRootAsync({
      inject: [REDIS],
      useFactory: (redis: Redis) => ({
        required: true,
        // The one origin clients use: htu naming any other is refused (and no start-up warning).
        allowedOrigins: [`http://127.0.0.1:${process.env.PORT ?? '3000'}`],
        // The real Redis (ioredis 6 here), shared by every instance of the app.
        store: new RedisJtiStore(redis, { keyPrefix: KEY_PREFIX }),
      }),
    }),
  ],
  controllers: [MeController, HealthController],
  providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }, DPoPHealthIndicator],
})
export class AppModule {}
