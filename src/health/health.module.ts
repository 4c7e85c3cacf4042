import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DPoPHealthIndicator } from 'nest-dpop/terminus';
import { HealthController } from './health.controller.js';
import { ReadinessController } from './readiness.controller.js';

/** `GET /health` (ARCP's body) and `GET /health/ready` (terminus readiness). */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, ReadinessController],
  providers: [DPoPHealthIndicator],
})
export class HealthModule {}
