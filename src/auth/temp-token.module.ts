import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { AuthModule } from './auth.module.js';
import { NonceTempTokenController, TempTokenController } from './temp-token.controller.js';

/**
 * Phase 1's route, in the version the configuration asks for: with `DPOP_NONCE_REQUIRED=routes`
 * the token endpoint is the one route that requires a server nonce (a route's `nonce: true` is
 * fixed by its decorator, and refused at start-up when nonces are off, so the choice is made
 * here, between two classes, rather than on one).
 */
@Module({})
export class TempTokenModule {
  static forRoot(config: AppConfig): DynamicModule {
    const routesOnly = typeof config.dpop.nonce === 'object' && config.dpop.nonce.routesOnly;
    return {
      module: TempTokenModule,
      imports: [AuthModule],
      controllers: [routesOnly === true ? NonceTempTokenController : TempTokenController],
    };
  }
}
