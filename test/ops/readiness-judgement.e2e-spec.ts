/**
 * `DPoPHealthIndicator` (nest-dpop/terminus) judges the replay store as a fresh proof would be
 * judged, and probing it leaves nothing behind in the store.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { DPoPModule, InMemoryJtiStore, RedisJtiStore, SkipDPoP, type JtiStore } from 'nest-dpop';
import { DPoPHealthIndicator } from 'nest-dpop/terminus';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { startRedisServer, stopAllRedisServers } from '../support/redis-servers.js';

const apps: INestApplication[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.close();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await stopAllRedisServers();
});

@SkipDPoP()
@Controller('health')
class ReadyController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dpop: DPoPHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.dpop.isHealthy()]);
  }
}

async function boot(store: JtiStore): Promise<string> {
  @Module({
    imports: [DPoPModule.forRoot({ store }), TerminusModule],
    controllers: [ReadyController],
    providers: [DPoPHealthIndicator],
  })
  class ReadyModule {}
  const app = await NestFactory.create(ReadyModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  apps.push(app);
  return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
}

async function ready(base: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${base}/health/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function redisOn(port: number, host: string): Promise<Redis> {
  const redis = new Redis({ host, port, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  clients.push(redis);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

describe('readiness judges the replay store as a fresh proof is judged', () => {
  it('Redis recovering from a loss: up and "recovering" (fresh proofs pass after one nonce round trip)', async () => {
    const server = await startRedisServer();
    const redis = await redisOn(server.port, server.host);
    // No marker on this prefix: a loss dated now, for one acceptance window.
    const base = await boot(
      new RedisJtiStore(redis, { keyPrefix: `test:ready:${process.pid}:a:` }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const { status, body } = await ready(base);
    expect(status).toBe(200);
    expect(body.info.dpop_replay_store).toMatchObject({
      status: 'up',
      replayHistory: 'recovering',
    });
  });

  it('Redis recovering without recovery nonces: down for the window, as fresh proofs get 503', async () => {
    const server = await startRedisServer();
    const redis = await redisOn(server.port, server.host);
    const store = new RedisJtiStore(redis, {
      keyPrefix: `test:ready:${process.pid}:b:`,
      recoveryNonces: false,
    });
    const base = await boot(store);
    // Past the probe's own one-second lifetime, which used to hide the window.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const { status, body } = await ready(base);
    expect(status).toBe(503);
    expect(body.error.dpop_replay_store).toMatchObject({
      status: 'down',
      message: expect.stringMatching(/lost its history/),
    });
  });

  it('Redis with an intact history: up and "intact"', async () => {
    const server = await startRedisServer();
    const redis = await redisOn(server.port, server.host);
    const keyPrefix = `test:ready:${process.pid}:c:`;
    await seedRedisJtiStoreHistory(redis, { keyPrefix });
    const base = await boot(new RedisJtiStore(redis, { keyPrefix }));
    const { status, body } = await ready(base);
    expect(status).toBe(200);
    expect(body.info.dpop_replay_store).toMatchObject({ status: 'up', replayHistory: 'intact' });
  });

  it('probing the memory store leaves nothing in it (10,000 probes)', async () => {
    const store = new InMemoryJtiStore();
    const base = await boot(store);
    for (let i = 0; i < 10_000; i += 100) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => ready(base)));
      expect(replies.every((r) => r.status === 200)).toBe(true);
    }
    expect(store.size).toBe(0);
  }, 60_000);

  it('a full memory store is down, saying it is full', async () => {
    const store = new InMemoryJtiStore({ maxEntries: 1 });
    await store.recordIfNew('live', 30_000);
    const base = await boot(store);
    const { status, body } = await ready(base);
    expect(status).toBe(503);
    expect(body.error.dpop_replay_store.message).toMatch(/full/);
  });
});
