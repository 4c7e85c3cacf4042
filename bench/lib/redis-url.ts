import { Redis, type RedisOptions } from 'ioredis';

/**
 * The Redis the benchmark uses: `REDIS_URL` (as the sample app reads it), else the local
 * default. Forked bench servers inherit the environment, so they use the same one.
 */
export const BENCH_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** A client of {@link BENCH_REDIS_URL} with `options` on top (`lazyConnect`, pipelining…). */
export function benchRedis(options: RedisOptions = {}): Redis {
  return new Redis(BENCH_REDIS_URL, options);
}

/** The URL without any password, as the report may print it. */
export function redactedRedisUrl(): string {
  try {
    const url = new URL(BENCH_REDIS_URL);
    if (url.password !== '') url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return 'REDIS_URL (unparsable)';
  }
}
