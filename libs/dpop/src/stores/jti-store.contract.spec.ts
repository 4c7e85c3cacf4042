import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { JtiStoreUnavailableError } from '../errors/dpop.errors.js';
import { InMemoryJtiStore } from './in-memory-jti.store.js';
import { RedisJtiStore } from './redis/redis-jti.store.js';
import { runJtiStoreContract, seedRedisJtiStoreHistory } from '../testing/index.js';

/** Every Redis key these tests write starts with this, and is deleted afterwards. */
const PREFIX = `test:jti-contract:${process.pid}:`;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: false, maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
  // A fresh key prefix has no history marker, which the store must take for a loss (see
  // test/redis/history-loss): these tests are about the contract, so their history is intact.
  await seedRedisJtiStoreHistory(redis, { keyPrefix: PREFIX });
  await seedRedisJtiStoreHistory(redis);
});

afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.del('dpop:jti:#epoch', 'dpop:jti:#epoch#nonce-secret');
  await redis.quit();
});

/** The contract every JtiStore keeps (nest-dpop/testing), run against each implementation. */
runJtiStoreContract('InMemoryJtiStore', () => new InMemoryJtiStore(), { describe, it });
runJtiStoreContract('RedisJtiStore', () => new RedisJtiStore(redis, { keyPrefix: PREFIX }), {
  describe,
  it,
});

describe('RedisJtiStore', () => {
  it('writes one key under the prefix with a PX expiry, as SET NX does', async () => {
    const store = new RedisJtiStore(redis, { keyPrefix: PREFIX });
    const jti = randomUUID();
    await store.recordIfNew(jti, 5_000);
    expect(await redis.get(PREFIX + jti)).toBe('1');
    const ttl = await redis.pttl(PREFIX + jti);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it('uses the neutral key prefix dpop:jti: by default', async () => {
    const store = new RedisJtiStore(redis);
    const jti = `contract-${randomUUID()}`;
    await store.recordIfNew(jti, 5_000);
    expect(await redis.exists(`dpop:jti:${jti}`)).toBe(1);
    await redis.del(`dpop:jti:${jti}`);
  });

  it('fails closed when the client is not connected', async () => {
    const closed = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    const store = new RedisJtiStore(closed, { keyPrefix: PREFIX });
    await expect(store.recordIfNew(randomUUID(), 1000)).rejects.toBeInstanceOf(
      JtiStoreUnavailableError,
    );
    closed.disconnect();
  });

  it('fails closed when the server does not answer in time', async () => {
    // Real Redis, told to hold write commands for a moment: a blocked Redis, as a client sees it.
    const store = new RedisJtiStore(redis, { keyPrefix: PREFIX, timeoutMs: 50 });
    const admin = redis.duplicate();
    await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
    const started = Date.now();
    await expect(store.recordIfNew(randomUUID(), 1000)).rejects.toBeInstanceOf(
      JtiStoreUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(250);
    await admin.call('CLIENT', 'UNPAUSE');
    await admin.quit();
  });

  it('fails closed when Redis answers with an error', async () => {
    // Real Redis, with a user that may not write: every SET is answered with NOPERM.
    const user = `dpop-test-${process.pid}`;
    await redis.call(
      'ACL',
      'SETUSER',
      user,
      'on',
      'nopass',
      '-@all',
      '+ping',
      '+hello',
      '+client',
      '+info',
      '+select',
    );
    const readonly = new Redis({
      host: '127.0.0.1',
      port: 6379,
      username: user,
      password: 'x',
      maxRetriesPerRequest: 0,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        readonly.once('ready', () => resolve());
        readonly.once('error', reject);
      });
      const store = new RedisJtiStore(readonly, { keyPrefix: PREFIX });
      const error = await store.recordIfNew(randomUUID(), 1000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JtiStoreUnavailableError);
      expect(String((error as Error).cause)).toMatch(/NOPERM/);
    } finally {
      readonly.disconnect();
      await redis.call('ACL', 'DELUSER', user);
    }
  });
});

describe('InMemoryJtiStore', () => {
  it('sweeps expired entries from the front and stops at the first live one', async () => {
    let now = 1_000_000;
    const store = new InMemoryJtiStore({ now: () => now });
    for (let i = 0; i < 5; i++) await store.recordIfNew(`old-${i}`, 100);
    now += 50;
    for (let i = 0; i < 3; i++) await store.recordIfNew(`new-${i}`, 100);
    now += 60; // the first five have expired, the last three have not
    expect(store.sweep()).toBe(5);
    expect(store.size).toBe(3);
    store.onModuleDestroy();
  });

  it('at its cap, sweeps, then refuses new jtis rather than forgetting live ones', async () => {
    let now = 0;
    const store = new InMemoryJtiStore({ maxEntries: 3, now: () => now });
    for (const jti of ['a', 'b', 'c'])
      await expect(store.recordIfNew(jti, 1000)).resolves.toBe(true);
    await expect(store.recordIfNew('d', 1000)).rejects.toBeInstanceOf(JtiStoreUnavailableError);
    // The live ones are still remembered.
    await expect(store.recordIfNew('a', 1000)).resolves.toBe(false);
    now = 2000; // all expired: room again
    await expect(store.recordIfNew('d', 1000)).resolves.toBe(true);
    expect(store.size).toBe(1);
    store.onModuleDestroy();
  });

  it('treats an expired but unswept jti as new again', async () => {
    let now = 0;
    const store = new InMemoryJtiStore({ now: () => now });
    await store.recordIfNew('x', 10);
    now = 11;
    await expect(store.recordIfNew('x', 10)).resolves.toBe(true);
    expect(store.size).toBe(1);
    store.onModuleDestroy();
  });

  it('refuses a nonsensical cap', () => {
    expect(() => new InMemoryJtiStore({ maxEntries: 0 })).toThrow(RangeError);
  });
});

describe('RedisJtiStore with a lazyConnect client', () => {
  it('refuses while the client has not connected, and starts the connection', async () => {
    const lazy = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    const store = new RedisJtiStore(lazy, { keyPrefix: PREFIX });
    expect(lazy.status).toBe('wait');
    await expect(store.recordIfNew(randomUUID(), 1000)).rejects.toBeInstanceOf(
      JtiStoreUnavailableError,
    );
    await new Promise<void>((resolve) => lazy.once('ready', () => resolve()));
    await expect(store.recordIfNew(randomUUID(), 1000)).resolves.toBe(true);
    await lazy.quit();
  });
});

describe('InMemoryJtiStore with mixed TTLs', () => {
  it('sweeps short-lived entries recorded behind a long-lived one', async () => {
    let now = 0;
    const store = new InMemoryJtiStore({ now: () => now });
    await store.recordIfNew('live-proof', 181_000);
    for (let i = 0; i < 5; i++) await store.recordIfNew(`probe-${i}`, 1000);
    now = 2000;
    expect(store.sweep()).toBe(5);
    expect(store.size).toBe(1);
    await expect(store.recordIfNew('live-proof', 181_000)).resolves.toBe(false);
    store.onModuleDestroy();
  });

  it('when full, says how long until the first entry expires (Retry-After)', async () => {
    let now = 0;
    const store = new InMemoryJtiStore({ maxEntries: 2, now: () => now });
    await store.recordIfNew('a', 30_000);
    now = 10_000;
    await store.recordIfNew('b', 181_000);
    const error = await store.recordIfNew('c', 181_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JtiStoreUnavailableError);
    expect((error as JtiStoreUnavailableError).retryAfter).toBe(20);
    store.onModuleDestroy();
  });
});
