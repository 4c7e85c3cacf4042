import { describe, expect, it } from '@jest/globals';
import type { RedisJtiStoreClient } from './redis-jti-store.options.js';
import { formatMarker, NO_LOSS_AT, nonceSecretKey } from './replay-history.marker.js';
import { ReplayHistoryMonitor } from './replay-history.monitor.js';
import { parseRedisInfo, serversSignature } from './redis-server.info.js';

/** A single Redis as the monitor sees it: INFO, GET and SET on a map. */
class FakeRedis {
  status = 'ready';
  readonly options = { host: 'fake', port: 1 };
  readonly data = new Map<string, string>();
  runId = 'aaaa';
  evicted = 0;
  policy = 'noeviction';
  maxmemory = 0;
  info(): Promise<string> {
    return Promise.resolve(
      `run_id:${this.runId}\r\nevicted_keys:${this.evicted}\r\n` +
        `maxmemory:${this.maxmemory}\r\nmaxmemory_policy:${this.policy}\r\n`,
    );
  }
  get(key: string): Promise<string | null> {
    return Promise.resolve(this.data.get(key) ?? null);
  }
  set(key: string, value: string, nx?: string): Promise<'OK' | null> {
    if (nx === 'NX' && this.data.has(key)) return Promise.resolve(null);
    this.data.set(key, value);
    return Promise.resolve('OK');
  }
  signature(): string {
    return serversSignature([
      parseRedisInfo(`run_id:${this.runId}\r\nevicted_keys:${this.evicted}`)!,
    ]);
  }
}

const HISTORY = 'p:#history';

function monitor(redis: FakeRedis, clock: { now: number }): ReplayHistoryMonitor {
  return new ReplayHistoryMonitor(redis as unknown as RedisJtiStoreClient, {
    historyKey: HISTORY,
    now: () => clock.now,
    recovery: true,
  });
}

describe('the replay history monitor (fake Redis, fake clock)', () => {
  it('a missing marker is a loss dated now, written for every instance, with a nonce secret', async () => {
    const redis = new FakeRedis();
    const clock = { now: 5_000 };
    const m = monitor(redis, clock);
    expect(m.state).toBe('unknown');
    await m.check();
    expect(m.state).toBe('known');
    expect(m.buckets[0]!.lossAt).toBe(5_000);
    expect(m.buckets[0]!.epoch).toBe(redis.data.get(HISTORY));
    expect(redis.data.get(nonceSecretKey(HISTORY))).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(m.nonces).toBeDefined();
  });

  it('adopts an intact marker written under the same servers, with its loss time', async () => {
    const redis = new FakeRedis();
    const marker = formatMarker('seeded', redis.signature(), NO_LOSS_AT);
    redis.data.set(HISTORY, marker);
    const m = monitor(redis, { now: 9_000 });
    await m.check();
    expect(m.buckets[0]).toMatchObject({ epoch: marker, lossAt: NO_LOSS_AT, readIn: 1 });
    expect(redis.data.get(HISTORY)).toBe(marker);
  });

  it('a marker written before a restart (another run_id) is a loss, also at the first check', async () => {
    const redis = new FakeRedis();
    redis.data.set(HISTORY, formatMarker('old', redis.signature(), NO_LOSS_AT));
    redis.runId = 'bbbb';
    const m = monitor(redis, { now: 7_000 });
    await m.check();
    expect(m.buckets[0]!.lossAt).toBe(7_000);
    expect(redis.data.get(HISTORY)).not.toContain('old.');
  });

  it('evictions between two checks are a loss', async () => {
    const redis = new FakeRedis();
    redis.data.set(HISTORY, formatMarker('seeded', redis.signature(), NO_LOSS_AT));
    const clock = { now: 1_000 };
    const m = monitor(redis, clock);
    await m.check();
    redis.evicted = 3;
    clock.now = 2_000;
    await m.check();
    expect(m.buckets[0]!.lossAt).toBe(2_000);
  });

  it('adopts the epoch another instance began, with its date', async () => {
    const redis = new FakeRedis();
    const m = monitor(redis, { now: 1_000 });
    await m.check();
    const other = formatMarker('other', redis.signature(), 1_500);
    redis.data.set(HISTORY, other);
    await m.check();
    expect(m.buckets[0]).toMatchObject({ epoch: other, lossAt: 1_500 });
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
