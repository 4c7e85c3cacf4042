import { beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { FakeRedis } from './redis-fake.fixture.js';
import { beginEpoch } from './redis-record.script.js';
import { NO_LOSS_AT, nonceSecretKey, parseMarker } from './replay-history.marker.js';
import { ReplayHistoryMonitor } from './replay-history.monitor.js';
import { parseRedisInfo, serversSignature } from './redis-server.info.js';

const HISTORY = 'p:#epoch';

beforeAll(() => {
  Logger.overrideLogger(false);
});

function monitor(redis: FakeRedis, clock: { now: number }): ReplayHistoryMonitor {
  return new ReplayHistoryMonitor(redis, {
    historyKey: HISTORY,
    now: () => clock.now,
    recovery: true,
    timeoutMs: 200,
  });
}

/** The marker the test seed writes: history intact since ever, on these servers. */
async function seed(redis: FakeRedis): Promise<string> {
  const signature = serversSignature([parseRedisInfo(await redis.info())!]);
  const reply = await beginEpoch(redis, 'S'.repeat(22), HISTORY, '', signature, NO_LOSS_AT);
  return reply.marker;
}

describe('the replay history monitor (fake Redis, fake clock)', () => {
  it("a missing marker is a loss dated by Redis' clock, not the instance's", async () => {
    const redis = new FakeRedis();
    // This instance's clock is 8 s slow.
    const m = monitor(redis, { now: redis.time - 8_000 });
    expect(m.state).toBe('unknown');
    await m.check();
    expect(m.state).toBe('known');
    expect(m.buckets[0]!.lossAt).toBe(redis.time);
    expect(m.buckets[0]!.epoch).toBe(redis.data.get(HISTORY));
    expect(m.now()).toBe(redis.time);
    expect(redis.data.get(nonceSecretKey(HISTORY))).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(m.nonces).toBeDefined();
  });

  it('adopts an intact marker whose script the server has, with its loss time', async () => {
    const redis = new FakeRedis();
    const marker = await seed(redis);
    const m = monitor(redis, { now: 9_000 });
    await m.check();
    expect(m.buckets[0]).toMatchObject({ epoch: marker, lossAt: NO_LOSS_AT, readIn: 1 });
    expect(redis.data.get(HISTORY)).toBe(marker);
  });

  it("a restart from a snapshot (marker kept, script cache empty) is a loss, also at a store's first check", async () => {
    const redis = new FakeRedis();
    const marker = await seed(redis);
    redis.restart();
    redis.runId = 'aaaa'; // even with the same run_id: the script cache tells
    redis.time += 500;
    const m = monitor(redis, { now: 0 });
    await m.check();
    expect(m.buckets[0]!.lossAt).toBe(redis.time);
    expect(redis.data.get(HISTORY)).not.toBe(marker);
  });

  it('evictions between two checks are a loss', async () => {
    const redis = new FakeRedis();
    await seed(redis);
    const m = monitor(redis, { now: 1_000 });
    await m.check();
    redis.evicted = 3;
    redis.time += 2_000;
    await m.check();
    expect(m.buckets[0]!.lossAt).toBe(redis.time);
  });

  it('adopts the epoch another instance began, and both agree on one loss', async () => {
    const redis = new FakeRedis();
    const a = monitor(redis, { now: 0 });
    const b = monitor(redis, { now: 50_000 });
    await a.check();
    redis.time += 100;
    await b.check();
    expect(b.buckets[0]!.epoch).toBe(a.buckets[0]!.epoch);
    expect(b.buckets[0]!.lossAt).toBe(a.buckets[0]!.lossAt);
    expect(b.epoch).toBe(a.epoch);
    // After a flush, whichever notices first begins the epoch the other adopts.
    redis.data.clear();
    redis.time += 100;
    await b.check();
    await a.check();
    expect(a.buckets[0]!.epoch).toBe(b.buckets[0]!.epoch);
    expect(parseMarker(a.buckets[0]!.epoch!)!.lossAt).toBe(redis.time);
  });

  it('an eviction policy under a memory limit makes it unsafe, until it is gone', async () => {
    const redis = new FakeRedis();
    redis.policy = 'allkeys-lru';
    redis.maxmemory = 100;
    const m = monitor(redis, { now: 1_000 });
    await m.check();
    expect(m.state).toBe('unsafe');
    expect(m.unavailable().message).toMatch(/may evict DPoP replay records/);
    redis.policy = 'noeviction';
    await m.check();
    expect(m.state).toBe('known');
  });

  it('a check that hangs ends at the timeout, and the next one can succeed', async () => {
    const redis = new FakeRedis();
    const info = redis.info.bind(redis);
    redis.info = () => new Promise<string>(() => undefined);
    const m = monitor(redis, { now: 1_000 });
    await m.check();
    expect(m.state).toBe('unknown');
    expect(m.unavailable().cause).toMatchObject({
      cause: { message: 'Redis did not answer within 200 ms' },
    });
    redis.info = info;
    await m.freshCheck();
    expect(m.state).toBe('known');
  });

  it('stays unknown, with the cause, when Redis fails during a check', async () => {
    const redis = new FakeRedis();
    redis.info = () => Promise.reject(new Error('connection lost'));
    const m = monitor(redis, { now: 1_000 });
    await m.check();
    expect(m.state).toBe('unknown');
    expect(m.unavailable()).toMatchObject({
      code: 'ERR_DPOP_STORE_UNAVAILABLE',
      cause: expect.objectContaining({ message: 'connection lost' }),
    });
  });
});
