import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  Logger,
  Module,
  type INestApplication,
  type LoggerService,
  type OnModuleInit,
} from '@nestjs/common';
import {
  DPoPEvents,
  DPoPModule,
  JtiStoreUnavailableError,
  type DPoPEvent,
  type DPoPEventListener,
  type DPoPModuleOptions,
} from 'nest-dpop';
import { accessToken, startGuardApp, type TestPlatform } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';

class Collector implements DPoPEventListener {
  readonly events: DPoPEvent[] = [];
  onDPoPEvent(event: DPoPEvent): void {
    this.events.push(event);
  }
}

let key: TestKey;
beforeAll(async () => {
  key = await makeKey('ES256');
});

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(options: DPoPModuleOptions, platform: TestPlatform = 'express') {
  const started = await startGuardApp({ logRefusals: false, ...options }, platform);
  app = started.app;
  return started.base;
}

describe.each(['express', 'fastify'] as const)('DPoP events on %s', (platform) => {
  it('reports an accepted proof with the thumbprint, route pattern, client and latency, never the token or proof', async () => {
    const collector = new Collector();
    const base = await start({ listeners: [collector] }, platform);
    const token = accessToken(key.jkt);
    const proof = await makeProof(key, { htm: 'GET', htu: `${base}/bound`, accessToken: token });
    const res = await fetch(`${base}/bound?x=1`, {
      headers: { authorization: `DPoP ${token}`, dpop: proof },
    });
    expect(res.status).toBe(200);
    expect(collector.events).toHaveLength(1);
    const event = collector.events[0]!; // the length was checked just above
    expect(event).toMatchObject({
      type: 'accepted',
      code: undefined,
      status: undefined,
      jkt: key.jkt,
      method: 'GET',
      route: '/bound',
      clientAddress: expect.stringMatching(/127\.0\.0\.1/),
      handler: 'GuardTestController.bound',
    });
    expect(event.latencyMs).toBeGreaterThan(0);
    const serialized = JSON.stringify(event);
    expect(serialized).not.toContain(token);
    expect(serialized).not.toContain(proof.split('.')[2]);
    expect(serialized).not.toContain(proof.split('.')[1]);
  });

  it('reports refusals with their code and the claimed key, and a replay as ERR_DPOP_REPLAY', async () => {
    const collector = new Collector();
    const base = await start({ listeners: [collector] }, platform);
    const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
    expect(
      (await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } })).status,
    ).toBe(401);
    const wrongUrl = await makeProof(key, { htm: 'POST', htu: 'http://elsewhere.example/items' });
    await fetch(`${base}/items`, { method: 'POST', headers: { dpop: wrongUrl } });
    await fetch(`${base}/bound`);
    expect(collector.events.map((e) => [e.type, e.code, e.status, e.jkt])).toEqual([
      ['accepted', undefined, undefined, key.jkt],
      ['refused', 'ERR_DPOP_REPLAY', 401, key.jkt],
      ['refused', 'ERR_DPOP_HTU_MISMATCH', 401, key.jkt],
      ['refused', 'ERR_DPOP_TOKEN_NOT_BOUND', 401, undefined],
    ]);
    expect(collector.events[3]?.route).toBe('/bound');
  });

  it('reports a request let through without a proof as no-proof', async () => {
    const collector = new Collector();
    const base = await start({ listeners: [collector] }, platform);
    expect((await fetch(`${base}/items`, { method: 'POST' })).status).toBe(200);
    expect(collector.events.map((e) => [e.type, e.route])).toEqual([['no-proof', '/items']]);
  });

  it('reports a store outage as store-unavailable (503)', async () => {
    const collector = new Collector();
    const store = {
      recordIfNew: () => Promise.reject(new JtiStoreUnavailableError('down')),
    };
    const base = await start({ listeners: [collector], store }, platform);
    const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
    expect(
      (await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } })).status,
    ).toBe(503);
    expect(collector.events.map((e) => [e.type, e.code, e.status])).toEqual([
      ['store-unavailable', 'ERR_DPOP_STORE_UNAVAILABLE', 503],
    ]);
  });

  it('reports the nonce challenge as a refusal and a nonce issued', async () => {
    const collector = new Collector();
    const base = await start({ listeners: [collector], nonce: true }, platform);
    const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
    const res = await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } });
    expect(res.status).toBe(401);
    expect(res.headers.get('dpop-nonce')).toBeTruthy();
    expect(collector.events.map((e) => [e.type, e.code])).toEqual([
      ['refused', 'ERR_DPOP_USE_NONCE'],
      ['nonce-issued', undefined],
    ]);
  });
});

describe('DPoP event listeners', () => {
  it('a throwing listener changes no decision, and the others still hear', async () => {
    const collector = new Collector();
    const broken: DPoPEventListener = {
      onDPoPEvent: () => {
        throw new Error('listener bug');
      },
    };
    const base = await start({ listeners: [broken, collector] });
    const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
    expect(
      (await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } })).status,
    ).toBe(401);
    expect(collector.events.map((e) => e.type)).toEqual(['accepted', 'refused']);
  });

  it('a provider subscribes through DPoPEvents, and can unsubscribe', async () => {
    @Injectable()
    class Audit implements OnModuleInit, DPoPEventListener {
      readonly seen: DPoPEvent[] = [];
      unsubscribe: () => void = () => undefined;
      constructor(private readonly events: DPoPEvents) {}
      onModuleInit() {
        this.unsubscribe = this.events.subscribe(this);
      }
      onDPoPEvent(event: DPoPEvent) {
        this.seen.push(event);
      }
    }
    @Module({})
    class AuditModule {}
    // The user's own module: the guard app imports it in place of DPoPModule.
    const started = await startGuardApp({
      module: AuditModule,
      imports: [DPoPModule.forRoot({ logRefusals: false })],
      providers: [Audit],
    });
    app = started.app;
    const base = started.base;
    const audit = app.get(Audit);
    await fetch(`${base}/bound`);
    audit.unsubscribe();
    await fetch(`${base}/bound`);
    expect(audit.seen.map((e) => e.code)).toEqual(['ERR_DPOP_TOKEN_NOT_BOUND']);
    expect(app.get(DPoPEvents).active).toBe(false);
  });

  it('logs refusals at debug level through Nest Logger with the code and thumbprint', async () => {
    const lines: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: () => undefined,
      debug: (message: unknown, context?: unknown) =>
        lines.push(`${String(context)}: ${String(message)}`),
    };
    const base = await start({ logRefusals: true });
    Logger.overrideLogger(logger);
    try {
      const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
      await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } });
      await fetch(`${base}/items`, { method: 'POST', headers: { dpop: proof } });
    } finally {
      Logger.overrideLogger(false);
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^DPoPGuard: DPoP refused ERR_DPOP_REPLAY jkt=${key.jkt} POST /items from \\S*127\\.0\\.0\\.1`,
      ),
    );
  });

  it('is quiet by default: the first refusal of each code per minute, then one count per code', async () => {
    const lines: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: () => undefined,
      debug: (message: unknown) => lines.push(String(message)),
    };
    let now = Date.now();
    const base = await start({ logRefusals: true, required: true, clock: () => now });
    const post = (headers: Record<string, string> = {}) =>
      fetch(`${base}/items`, { method: 'POST', headers });
    Logger.overrideLogger(logger);
    try {
      // A polling client without a proof, and one that replays its proof.
      for (let i = 0; i < 40; i++) await post();
      const proof = await makeProof(key, {
        htm: 'POST',
        htu: `${base}/items`,
        iat: Math.floor(now / 1000),
      });
      for (let i = 0; i < 6; i++) await post({ dpop: proof });
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^DPoP refused ERR_DPOP_MISSING .* POST \/items .*counted, not logged/,
      );
      expect(lines[1]).toMatch(/^DPoP refused ERR_DPOP_REPLAY jkt=/);
      now += 61_000; // the next minute: its first refusal brings the last minute's counts
      await post();
      expect(lines.slice(2)).toEqual([
        'DPoP refusals in the last 61 s: ERR_DPOP_MISSING 40, ERR_DPOP_REPLAY 5',
        expect.stringMatching(/^DPoP refused ERR_DPOP_MISSING /),
      ]);
      for (let i = 0; i < 3; i++) await post();
      await app!.close(); // the shutdown flushes what went unlogged
      app = undefined;
      expect(lines.slice(4)).toEqual(['DPoP refusals in the last 1 s: ERR_DPOP_MISSING 4']);
    } finally {
      Logger.overrideLogger(false);
    }
  });

  it("logRefusals: 'each' logs every refusal", async () => {
    const lines: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: () => undefined,
      debug: (message: unknown) => lines.push(String(message)),
    };
    const base = await start({ logRefusals: 'each', required: true });
    Logger.overrideLogger(logger);
    try {
      for (let i = 0; i < 5; i++) await fetch(`${base}/items`, { method: 'POST' });
    } finally {
      Logger.overrideLogger(false);
    }
    expect(lines).toHaveLength(5);
    expect(lines.every((line) => line.startsWith('DPoP refused ERR_DPOP_MISSING '))).toBe(true);
  });
});
