/**
 * A user's feature module file, as an app imports it from its root module: everything this file
 * evaluates at import time runs before the root module's `ConfigModule.forRoot()` has loaded
 * `.env` into `process.env` (ES modules evaluate their imports first).
 */
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { DPoPGuard, DPoPModule, dpopOptionsFromEnv } from 'nest-dpop';

/** One guarded route: 401 without a proof when `DPOP_REQUIRED=true` is in force, else 200. */
@Controller()
class PingController {
  @Get('ping')
  ping() {
    return { ok: true };
  }
}

const guarded = {
  controllers: [PingController],
  providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
};

/** The README's Quick start: `DPOP_*` read when Nest builds the providers. */
@Module({ imports: [DPoPModule.forRoot({ fromEnv: true })], ...guarded })
export class FromEnvModule {}

/** The README's `@nestjs/config` recipe: `fromEnv` plus the app's own settings from `ConfigService`. */
@Module({
  imports: [
    DPoPModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        fromEnv: true,
        problemTypeBase: config.get<string>('PROBLEM_TYPE_BASE'),
      }),
    }),
  ],
  ...guarded,
})
export class ConfigServiceModule {}

/** The README's Redis recipe: `dpopOptionsFromEnv()` called inside a factory, at start-up. */
@Module({
  imports: [DPoPModule.forRootAsync({ useFactory: () => ({ ...dpopOptionsFromEnv() }) })],
  ...guarded,
})
export class FactoryModule {}

/**
 * The old Quick start: `dpopOptionsFromEnv()` runs while this file is imported, before `.env` is
 * loaded, so `DPOP_REQUIRED` from `.env` is silently lost.
 */
@Module({ imports: [DPoPModule.forRoot({ ...dpopOptionsFromEnv() })], ...guarded })
export class OldFormModule {}
