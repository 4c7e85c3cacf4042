import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { PrometheusDPoPListener } from 'nest-dpop/prometheus';
import { OpenTelemetryDPoPListener } from 'nest-dpop/opentelemetry';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';

let key: TestKey;
beforeAll(async () => {
  key = await makeKey('EdDSA');
});

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** One accepted proof, its replay, a wrong-method proof and a bound route without a token. */
async function traffic(base: string): Promise<void> {
  const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
  const post = (dpop: string) => fetch(`${base}/items`, { method: 'POST', headers: { dpop } });
  expect((await post(proof)).status).toBe(200);
  expect((await post(proof)).status).toBe(401);
  expect((await post(await makeProof(key, { htm: 'GET', htu: `${base}/items` }))).status).toBe(401);
  expect((await fetch(`${base}/bound`)).status).toBe(401);
}

describe('Prometheus recipe (prom-client)', () => {
  it('counts refusals by code and records the latency histogram', async () => {
    const registry = new Registry();
    const started = await startGuardApp({
      logRefusals: false,
      listeners: [new PrometheusDPoPListener({ registry })],
    });
    app = started.app;
    await traffic(started.base);
    const text = await registry.metrics();
    expect(text).toContain('dpop_verifications_total{outcome="accepted"} 1');
    expect(text).toContain('dpop_verifications_total{outcome="refused"} 3');
    expect(text).toContain('dpop_refusals_total{code="ERR_DPOP_REPLAY"} 1');
    expect(text).toContain('dpop_refusals_total{code="ERR_DPOP_HTM_MISMATCH"} 1');
    expect(text).toContain('dpop_refusals_total{code="ERR_DPOP_TOKEN_NOT_BOUND"} 1');
    expect(text).toContain('dpop_verification_duration_seconds_count{outcome="refused"} 3');
    expect(text).toContain(
      'dpop_verification_duration_seconds_bucket{le="1",outcome="accepted"} 1',
    );
    expect(text).not.toContain(key.jkt);
  });

  it('shares the metrics between listeners on one registry', () => {
    const registry = new Registry();
    const a = new PrometheusDPoPListener({ registry });
    const b = new PrometheusDPoPListener({ registry });
    expect(b.refusals).toBe(a.refusals);
  });
});

describe('OpenTelemetry recipe (@opentelemetry/api with the real SDK, in memory)', () => {
  it('records one span per decision, ERROR on refusals, and the metrics by outcome and code', async () => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(spans)],
    });
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({
      exporter: metricExporter,
      exportIntervalMillis: 60_000,
    });
    const meterProvider = new MeterProvider({ readers: [reader] });
    // The default tracer is the global one, as in an app with the SDK started.
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      const started = await startGuardApp({
        logRefusals: false,
        listeners: [new OpenTelemetryDPoPListener({ meter: meterProvider.getMeter('test') })],
      });
      app = started.app;
      await traffic(started.base);

      const finished = spans.getFinishedSpans();
      expect(finished.map((s) => [s.name, s.attributes['dpop.outcome'], s.status.code])).toEqual([
        ['dpop.verify', 'accepted', 0],
        ['dpop.verify', 'refused', 2],
        ['dpop.verify', 'refused', 2],
        ['dpop.verify', 'refused', 2],
      ]);
      expect(finished[0]?.attributes).toMatchObject({
        'dpop.jkt': key.jkt,
        'http.request.method': 'POST',
        'http.route': '/items',
        'client.address': expect.stringMatching(/127\.0\.0\.1/),
      });
      expect(finished[1]?.attributes['dpop.code']).toBe('ERR_DPOP_REPLAY');

      await reader.forceFlush();
      const exported = metricExporter.getMetrics().at(-1)!;
      const byName = Object.fromEntries(
        (exported.scopeMetrics[0]?.metrics ?? []).map((m) => [m.descriptor.name, m.dataPoints]),
      );
      const sum = (name: string, attr: string, value: string) =>
        byName[name]?.find((p) => p.attributes[attr] === value)?.value;
      expect(sum('dpop.verifications', 'dpop.outcome', 'accepted')).toBe(1);
      expect(sum('dpop.verifications', 'dpop.outcome', 'refused')).toBe(3);
      expect(sum('dpop.refusals', 'dpop.code', 'ERR_DPOP_REPLAY')).toBe(1);
      expect(byName['dpop.verification.duration']).toHaveLength(2);
    } finally {
      trace.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    }
  });

  it('is a no-op without an SDK', async () => {
    const started = await startGuardApp({
      logRefusals: false,
      listeners: [new OpenTelemetryDPoPListener()],
    });
    app = started.app;
    await traffic(started.base);
  });
});
