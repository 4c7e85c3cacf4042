import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS, SkipDPoP, type ResolvedDPoPOptions } from 'nest-dpop';
import { StorageProbe } from '../storage/agent-registry.interface.js';

/** The body of `GET /health`. */
export interface HealthResponse {
  status: 'healthy' | 'unhealthy';
  storage: { kind: 'memory' | 'redis'; up: boolean };
  dpop: { enabled: boolean; required: boolean };
}

/** Liveness and readiness: 200 when storage answers, 503 when it does not. */
@SkipDPoP()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(StorageProbe) private readonly storage: StorageProbe,
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly dpop: ResolvedDPoPOptions,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async health(
    @Res({ passthrough: true }) response: { status(code: number): unknown },
  ): Promise<HealthResponse> {
    const up = await this.storage.ping();
    if (!up) response.status(503);
    return {
      status: up ? 'healthy' : 'unhealthy',
      storage: { kind: this.storage.kind, up },
      dpop: { enabled: this.dpop.enabled, required: this.dpop.enabled && this.dpop.required },
    };
  }
}
