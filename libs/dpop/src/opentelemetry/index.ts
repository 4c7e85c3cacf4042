/**
 * `nest-dpop/opentelemetry`: DPoP outcomes as OpenTelemetry spans and metrics through
 * `@opentelemetry/api` (an optional peer dependency, and a no-op until an SDK is registered).
 * @packageDocumentation
 */
import {
  SpanStatusCode,
  context as otelContext,
  metrics,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';
import type { DPoPEvent, DPoPEventListener } from '../events/dpop-events.interface.js';

/** Options of {@link OpenTelemetryDPoPListener}. */
export interface OpenTelemetryDPoPListenerOptions {
  /** Default: `trace.getTracer('nest-dpop')` (the globally registered provider). */
  tracer?: Tracer;
  /** Default: `metrics.getMeter('nest-dpop')`. */
  meter?: Meter;
  /** Record a `dpop.verify` span per decision. Default `true`. */
  spans?: boolean;
}

/**
 * One `dpop.verify` span per guard decision (a child of the active span, e.g. the HTTP server
 * span of the instrumentation), with status `ERROR` on refusals, and the metrics
 * `dpop.verifications` (`dpop.outcome`), `dpop.refusals` (`dpop.code`) and
 * `dpop.verification.duration` (seconds). Attributes follow the semantic conventions where one
 * exists (`http.request.method`, `http.route`, `client.address`); the thumbprint goes on spans
 * only (`dpop.jkt`), never on metrics.
 *
 * @example DPoPModule.forRoot({ listeners: [new OpenTelemetryDPoPListener()] })
 */
export class OpenTelemetryDPoPListener implements DPoPEventListener {
  private readonly tracer: Tracer;
  private readonly spans: boolean;
  private readonly verifications: Counter;
  private readonly refusals: Counter;
  private readonly duration: Histogram;
  private readonly nonces: Counter;

  constructor(options: OpenTelemetryDPoPListenerOptions = {}) {
    this.tracer = options.tracer ?? trace.getTracer('nest-dpop');
    this.spans = options.spans ?? true;
    const meter = options.meter ?? metrics.getMeter('nest-dpop');
    this.verifications = meter.createCounter('dpop.verifications', {
      description: 'DPoP guard decisions by outcome',
    });
    this.refusals = meter.createCounter('dpop.refusals', {
      description: 'DPoP refusals by error code',
    });
    this.duration = meter.createHistogram('dpop.verification.duration', {
      description: 'Time the DPoP guard spent deciding',
      unit: 's',
    });
    this.nonces = meter.createCounter('dpop.nonces_issued', {
      description: 'DPoP server nonces handed out',
    });
  }

  onDPoPEvent(event: DPoPEvent): void {
    if (event.type === 'nonce-issued') {
      this.nonces.add(1);
      return;
    }
    this.verifications.add(1, { 'dpop.outcome': event.type });
    this.duration.record(event.latencyMs / 1000, { 'dpop.outcome': event.type });
    if (event.code !== undefined) this.refusals.add(1, { 'dpop.code': event.code });
    if (this.spans) this.span(event);
  }

  private span(event: DPoPEvent): void {
    const end = Date.now();
    const attributes: Attributes = {
      'dpop.outcome': event.type,
      'http.request.method': event.method,
      'http.route': event.route,
    };
    if (event.code !== undefined) attributes['dpop.code'] = event.code;
    if (event.jkt !== undefined) attributes['dpop.jkt'] = event.jkt;
    if (event.clientAddress !== undefined) attributes['client.address'] = event.clientAddress;
    if (event.handler !== undefined) attributes['code.function.name'] = event.handler;
    const span = this.tracer.startSpan(
      'dpop.verify',
      { startTime: new Date(end - event.latencyMs), attributes },
      otelContext.active(),
    );
    if (event.code !== undefined)
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.code });
    span.end(new Date(end));
  }
}
