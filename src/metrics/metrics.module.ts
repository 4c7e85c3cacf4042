import { Controller, Get, Header, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Registry } from 'prom-client';
import { DPoPEvents, SkipDPoP } from 'nest-dpop';
import { PrometheusDPoPListener } from 'nest-dpop/prometheus';

/** The app's Prometheus registry, fed by the DPoP guard's events. */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();

  constructor(private readonly events: DPoPEvents) {}

  onModuleInit(): void {
    this.events.subscribe(new PrometheusDPoPListener({ registry: this.registry }));
  }
}

/**
 * `GET /metrics`: Prometheus text format. Put it behind your network's access rules in
 * production: it tells who scrapes it how often proofs are refused and why.
 */
@SkipDPoP()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** DPoP metrics at `/metrics`. */
@Module({ controllers: [MetricsController], providers: [MetricsService] })
export class MetricsModule {}
