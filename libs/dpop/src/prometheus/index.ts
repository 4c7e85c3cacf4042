/**
 * `nest-dpop/prometheus`: DPoP outcomes as Prometheus metrics through `prom-client` (an optional
 * peer dependency: only this subpath imports it).
 * @packageDocumentation
 */
import { Counter, Histogram, register as defaultRegistry, type Registry } from 'prom-client';
import type { DPoPEvent, DPoPEventListener } from '../events/dpop-events.interface.js';

/** Options of {@link PrometheusDPoPListener}. */
export interface PrometheusDPoPListenerOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Prefix of every metric name. Default `dpop_`. */
  prefix?: string;
  /** Latency histogram buckets, in seconds. Default: 0.1 ms to 1 s. */
  buckets?: number[];
}

/**
 * Counts every DPoP outcome and times the guard's decisions:
 * - `dpop_verifications_total{outcome}`: `accepted`, `no-proof`, `refused`, `store-unavailable`;
 * - `dpop_refusals_total{code}`: refusals (503s included) by their stable code;
 * - `dpop_verification_duration_seconds{outcome}`: time spent in the guard;
 * - `dpop_nonces_issued_total`: server nonces handed out.
 *
 * Labels have bounded values only (no thumbprint, address or path). Several listeners on one
 * registry share the metrics.
 *
 * @example DPoPModule.forRoot({ listeners: [new PrometheusDPoPListener()] })
 */
export class PrometheusDPoPListener implements DPoPEventListener {
  readonly verifications: Counter<'outcome'>;
  readonly refusals: Counter<'code'>;
  readonly duration: Histogram<'outcome'>;
  readonly nonces: Counter;

  constructor(options: PrometheusDPoPListenerOptions = {}) {
    const registry = options.registry ?? defaultRegistry;
    const prefix = options.prefix ?? 'dpop_';
    const registers = [registry];
    const existing = <T>(name: string) => registry.getSingleMetric(prefix + name) as T | undefined;
    this.verifications =
      existing<Counter<'outcome'>>('verifications_total') ??
      new Counter({
        name: `${prefix}verifications_total`,
        help: 'DPoP guard decisions by outcome',
        labelNames: ['outcome'],
        registers,
      });
    this.refusals =
      existing<Counter<'code'>>('refusals_total') ??
      new Counter({
        name: `${prefix}refusals_total`,
        help: 'DPoP refusals by error code',
        labelNames: ['code'],
        registers,
      });
    this.duration =
      existing<Histogram<'outcome'>>('verification_duration_seconds') ??
      new Histogram({
        name: `${prefix}verification_duration_seconds`,
        help: 'Time the DPoP guard spent deciding, in seconds',
        labelNames: ['outcome'],
        buckets: options.buckets ?? [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1],
        registers,
      });
    this.nonces =
      existing<Counter>('nonces_issued_total') ??
      new Counter({
        name: `${prefix}nonces_issued_total`,
        help: 'DPoP server nonces handed out',
        registers,
      });
  }

  onDPoPEvent(event: DPoPEvent): void {
    if (event.type === 'nonce-issued') {
      this.nonces.inc();
      return;
    }
    this.verifications.inc({ outcome: event.type });
    this.duration.observe({ outcome: event.type }, event.latencyMs / 1000);
    if (event.code !== undefined) this.refusals.inc({ code: event.code });
  }
}
