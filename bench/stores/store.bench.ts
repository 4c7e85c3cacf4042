import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InMemoryJtiStore, RedisJtiStore, type JtiStore } from 'nest-dpop';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { REDIS_KEY_PREFIX } from '../http/bench-http.constants.js';
import { benchRedis } from '../lib/redis-url.js';
import { collectGarbage, median } from '../lib/stats.js';

/** One replay store (or the bare Redis command), per `recordIfNew` call: medians. */
export interface StoreResult {
  readonly name: string;
  /** Calls in flight at once. */
  readonly concurrency: number;
  /** CPU time of this process (all threads) per call, in µs. */
  readonly cpuUs: number;
  /** redis-server's CPU time per call, in µs (Redis contenders only). */
  readonly redisCpuUs?: number;
  /** Calls completed per second with `concurrency` calls in flight. */
  readonly callsPerSecond: number;
}

/** Settings of the store benchmark. */
export interface StoreBenchOptions {
  readonly rounds: number;
  readonly callsPerBatch: number;
  /** Calls in flight at once, as with that many concurrent requests: one pass per level. */
  readonly concurrency: readonly number[];
}

const REDIS = { lazyConnect: true } as const;
/** The guard's default replay window (proofTtl 120 s + clockSkew 60 s). */
const TTL_MS = 180_000;

async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1]);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/** One call per jti (all fresh), `concurrency` at a time; fails on any refusal. */
async function drive(store: JtiStore, jtis: readonly string[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jtis.length) {
      if (!(await store.recordIfNew(jtis[next++]!, TTL_MS))) {
        throw new Error('store bench: a fresh jti was refused');
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Per-call cost of the replay stores: the memory store, `RedisJtiStore` on an auto-pipelining
 * ioredis client and on a plain one, and a bare `SET … PX … NX` on the auto-pipelining client,
 * which is the floor for any Redis store. Interleaved in rounds; round 0 is a warm-up.
 */
export async function benchStores(options: StoreBenchOptions): Promise<StoreResult[]> {
  const results: StoreResult[] = [];
  for (const concurrency of options.concurrency) {
    results.push(...(await benchStoresAt(options, concurrency)));
  }
  return results;
}

async function benchStoresAt(
  options: StoreBenchOptions,
  concurrency: number,
): Promise<StoreResult[]> {
  const auto = benchRedis({ ...REDIS, enableAutoPipelining: true });
  const plain = benchRedis({ ...REDIS });
  const admin = benchRedis({ ...REDIS });
  await Promise.all([auto.connect(), plain.connect(), admin.connect()]);
  // A fresh Redis (or prefix) has no replay-history marker, which the store takes for a loss:
  // the bench measures the steady state, so it starts from an intact history.
  await seedRedisJtiStoreHistory(admin, { keyPrefix: REDIS_KEY_PREFIX });
  const memory = new InMemoryJtiStore({ maxEntries: 10_000_000 });
  const contenders: { name: string; store: JtiStore; redis: boolean }[] = [
    { name: 'InMemoryJtiStore', store: memory, redis: false },
    {
      name: 'RedisJtiStore, auto-pipelining client',
      store: new RedisJtiStore(auto, { keyPrefix: REDIS_KEY_PREFIX }),
      redis: true,
    },
    {
      name: 'RedisJtiStore, plain client',
      store: new RedisJtiStore(plain, { keyPrefix: REDIS_KEY_PREFIX }),
      redis: true,
    },
    {
      name: 'bare ioredis SET PX NX (floor), auto-pipelining',
      store: {
        recordIfNew: async (jti, ttlMs) =>
          (await auto.set(REDIS_KEY_PREFIX + jti, '1', 'PX', ttlMs, 'NX')) === 'OK',
      },
      redis: true,
    },
  ];
  const samples = contenders.map(() => ({
    cpu: [] as number[],
    redis: [] as number[],
    rate: [] as number[],
  }));
  try {
    for (let round = 0; round <= options.rounds; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const index = (round + i) % contenders.length;
        const { store, redis } = contenders[index]!;
        const jtis = Array.from({ length: options.callsPerBatch }, () => randomUUID());
        collectGarbage();
        const redisBefore = redis ? await redisCpuUs(admin) : 0;
        const wall = performance.now();
        const cpu = process.cpuUsage();
        await drive(store, jtis, concurrency);
        const used = process.cpuUsage(cpu);
        const seconds = (performance.now() - wall) / 1000;
        const redisAfter = redis ? await redisCpuUs(admin) : 0;
        if (round === 0) continue;
        samples[index]!.cpu.push((used.user + used.system) / options.callsPerBatch);
        samples[index]!.redis.push((redisAfter - redisBefore) / options.callsPerBatch);
        samples[index]!.rate.push(options.callsPerBatch / seconds);
      }
    }
  } finally {
    memory.onModuleDestroy();
    auto.disconnect();
    plain.disconnect();
    admin.disconnect();
  }
  return contenders.map(({ name, redis }, i) => ({
    name,
    concurrency,
    cpuUs: median(samples[i]!.cpu),
    ...(redis && { redisCpuUs: median(samples[i]!.redis) }),
    callsPerSecond: median(samples[i]!.rate),
  }));
}
