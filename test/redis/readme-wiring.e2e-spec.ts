/**
 * The README's Redis wiring (`@nestjs-modules/ioredis` + `forRootAsync` + `RedisJtiStore`) at the
 * seams with the app (issue 19): a start-up that refuses an evicting or silent Redis although the
 * client is still connecting when Nest bootstraps; no wait of its own needed by an e2e test; the
 * client closed app after app; and tests that swap the store without any Redis.
 *
 * Private redis-server processes only.
 */
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type { Redis } from 'ioredis';
import { InMemoryJtiStore, JtiStore } from 'nest-dpop';
import { DPoPTestKey, redisStandIn, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import {
  freePort,
  startRedisServer,
  stopAllRedisServers,
  type RedisServer,
} from '../support/redis-servers.js';
import { readmeWiredModule, type WiringOptions } from './readme-wiring.app.js';

const opened: INestApplication[] = [];

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  await stopAllRedisServers();
});

const urlOf = (server: RedisServer) => `redis://${server.host}:${server.port}`;

/** Compiles the wired app (overrides applied by `override`), without initialising it. */
async function wiredApp(
  options: WiringOptions,
  override: (builder: ReturnType<typeof Test.createTestingModule>) => typeof builder = (b) => b,
): Promise<INestApplication> {
  const moduleRef = await override(
    Test.createTestingModule({ imports: [readmeWiredModule(options)] }),
  ).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  opened.push(app);
  return app;
}

/** GET /me with a fresh proof, then its replay: the statuses and the first body. */
async function proveAndReplay(app: INestApplication): Promise<[number, unknown, number]> {
  await app.listen(0, '127.0.0.1');
  const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/me`;
  const key = DPoPTestKey.generate();
  const proof = key.proof({ method: 'GET', url });
  const first = await fetch(url, { headers: { DPoP: proof } });
  const body: unknown = await first.json();
  const replay = await fetch(url, { headers: { DPoP: proof } });
  expect(body).toEqual(first.status === 200 ? { jkt: key.jkt } : expect.anything());
  return [first.status, body, replay.status];
}

describe('start-up in the README wiring (client still connecting at bootstrap)', () => {
  it('refuses to start on a Redis that may evict live records (maxmemory 10mb, allkeys-lru)', async () => {
    const server = await startRedisServer({
      args: ['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru'],
    });
    const app = await wiredApp({ url: urlOf(server) });
    const client = app.get<Redis>(getRedisConnectionToken());
    expect(client.status).not.toBe('ready'); // what made the old check return early
    await expect(app.init()).rejects.toThrow(
      /maxmemory-policy allkeys-lru.*set maxmemory-policy noeviction/,
    );
  });

  it('refuses to start when Redis does not answer within startupTimeoutMs, naming the setting', async () => {
    const port = await freePort(); // nothing listens there
    const errors = jest.spyOn(console, 'error');
    try {
      const app = await wiredApp({
        url: `redis://127.0.0.1:${port}`,
        store: { startupTimeoutMs: 300 },
      });
      const started = Date.now();
      await expect(app.init()).rejects.toThrow(
        /Redis client is not ready .* after 300 ms at start-up.*startupTimeoutMs/,
      );
      expect(Date.now() - started).toBeLessThan(3000);
      // The wiring listens to the client's errors: ioredis prints no "Unhandled error event".
      const printed = errors.mock.calls.map((call) => call.map(String).join(' ')).join('\n');
      expect(printed).not.toMatch(/Unhandled error event/);
    } finally {
      errors.mockRestore();
    }
  });

  it('once init() resolves, the first request passes: an e2e test needs no wait of its own', async () => {
    const server = await startRedisServer();
    const client = await seedOver(server, 'dpop:jti:');
    client.disconnect();
    const app = await wiredApp({ url: urlOf(server) });
    const [status, , replay] = await proveAndReplay(app);
    expect([status, replay]).toEqual([200, 401]);
  });
});

describe('closing the app-owned client (nest new: a new app per test, closed after each)', () => {
  it('RedisShutdown closes every app’s client; @nestjs-modules/ioredis alone closes only the first', async () => {
    const server = await startRedisServer();
    const statuses = async (options: WiringOptions) => {
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        const app = await wiredApp(options);
        await app.init();
        const client = app.get<Redis>(getRedisConnectionToken());
        await app.close();
        opened.splice(opened.indexOf(app), 1);
        seen.push(client.status);
        client.disconnect(); // whatever was left open (the case without RedisShutdown)
      }
      return seen;
    };
    expect(await statuses({ url: urlOf(server) })).toEqual(['end', 'end', 'end']);
    // Why the README has RedisShutdown: the module's own hook forgets the clients after its first
    // shutdown in a process, which kept Jest from exiting.
    const alone = await statuses({ url: urlOf(server), withoutShutdown: true });
    expect(alone.slice(1)).not.toContain('end');
  });
});

describe('tests that swap the store (nest-dpop/testing)', () => {
  /** A TCP server that counts the connections made to it (a Redis nobody should reach). */
  async function countingServer(): Promise<{
    url: string;
    count: () => number;
    close: () => void;
  }> {
    let count = 0;
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => {
      count++;
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
      url: `redis://127.0.0.1:${port}`,
      count: () => count,
      close: () => {
        for (const socket of sockets) socket.destroy();
        server.close();
      },
    };
  }

  it('redisStandIn() + overrideProvider(JtiStore): no Redis connection at all, the swapped store decides', async () => {
    const redis = await countingServer();
    try {
      const store = new InMemoryJtiStore();
      const app = await wiredApp({ url: redis.url }, (builder) =>
        builder
          .overrideProvider(getRedisConnectionToken())
          .useValue(redisStandIn())
          .overrideProvider(JtiStore)
          .useValue(store),
      );
      expect(app.get(JtiStore)).toBe(store);
      const [status, , replay] = await proveAndReplay(app);
      expect([status, replay]).toEqual([200, 401]);
      await app.close();
      expect(redis.count()).toBe(0);
    } finally {
      redis.close();
    }
  });

  it('overrideProvider(JtiStore) alone: the RedisJtiStore the factory made never touches Redis', async () => {
    const server = await startRedisServer();
    const app = await wiredApp({ url: urlOf(server) }, (builder) =>
      builder.overrideProvider(JtiStore).useValue(new InMemoryJtiStore()),
    );
    const [status, , replay] = await proveAndReplay(app);
    expect([status, replay]).toEqual([200, 401]);
    // A running store reads INFO and writes its history marker within a check interval.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await server.command('EXISTS', 'dpop:jti:#history')).toBe('0');
    // Only this very INFO (and the readiness PING): no check, no write.
    const stats = await server.command('INFO', 'commandstats');
    expect(stats).toMatch(/cmdstat_info:calls=1,/);
    expect(stats).not.toMatch(/cmdstat_(get|set|eval|evalsha):/);
  });

  it('redisStandIn(): quit/disconnect do nothing, any other command rejects naming it', async () => {
    const standIn = redisStandIn();
    expect(standIn.status).toBe('end');
    await expect(standIn.quit()).resolves.toBe('OK');
    expect(() => standIn.disconnect()).not.toThrow();
    await expect((standIn as unknown as Redis).get('k')).rejects.toThrow(
      /redisStandIn\(\)\.get\(\) was called/,
    );
    expect((standIn as unknown as { then?: unknown }).then).toBeUndefined();
  });
});

/** Writes an intact history under `prefix` (a fresh Redis otherwise starts in recovery). */
async function seedOver(server: RedisServer, prefix: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  await seedRedisJtiStoreHistory(client, { keyPrefix: prefix });
  return client;
}

describe('a plain client in a recovery window (README: "Testing replays")', () => {
  it('use_dpop_nonce says what to do; the proof that carried the nonce, replayed, is ERR_DPOP_REPLAY', async () => {
    const server = await startRedisServer(); // never seeded: a first deploy, a recovery window
    const app = await wiredApp({ url: urlOf(server) });
    await app.listen(0, '127.0.0.1');
    const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/me`;
    const key = DPoPTestKey.generate();
    const first = await fetch(url, { headers: { DPoP: key.proof({ method: 'GET', url }) } });
    const problem = (await first.json()) as { code: string; detail: string };
    expect([first.status, problem.code]).toEqual([401, 'ERR_DPOP_USE_NONCE']);
    expect(problem.detail).toMatch(
      /recovery window.*send the request again with a new proof whose nonce claim is the DPoP-Nonce header of this response$/,
    );
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toEqual(expect.any(String));
    const proof = key.proof({ method: 'GET', url, nonce: nonce! });
    const retried = await fetch(url, { headers: { DPoP: proof } });
    expect(retried.status).toBe(200);
    const replay = await fetch(url, { headers: { DPoP: proof } });
    expect([replay.status, ((await replay.json()) as { code: string }).code]).toEqual([
      401,
      'ERR_DPOP_REPLAY',
    ]);
  });
});
