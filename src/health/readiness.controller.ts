import { Controller, Get, Header, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { SkipDPoP } from 'nest-dpop';
import { DPoPHealthIndicator } from 'nest-dpop/terminus';
import { StorageProbe } from '../storage/agent-registry.interface.js';

/**
 * `GET /health/ready`: readiness in `@nestjs/terminus`'s format, next to ARCP's own `/health`
 * body. 200 when the agent storage answers and the DPoP replay store takes writes; 503 (with
 * which one failed) when not, so a load balancer stops sending traffic that would only get 503s.
 */
@SkipDPoP()
@Controller('health')
export class ReadinessController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dpop: DPoPHealthIndicator,
    @Inject(StorageProbe) private readonly storage: StorageProbe,
  ) {}

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) response: { status(code: number): unknown }) {
    try {
      return await this.check();
    } catch (error) {
      // Terminus's own 503 body, as probes expect it, rather than the app's problem document
      // (and no "unexpected error" log line for an outage the body already reports).
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse();
    }
  }

  private check() {
    return this.health.check([
      async () => {
        const indicator = this.indicators.check('storage');
        return (await this.storage.ping())
          ? indicator.up({ kind: this.storage.kind })
          : indicator.down({ kind: this.storage.kind });
      },
      () => this.dpop.isHealthy('dpop_replay_store'),
    ]);
  }
}
