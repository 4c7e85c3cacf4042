import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { loadAppConfig, type AppConfig } from '../../src/config/app-config.js';

/** The public base URL the test apps are configured with: every proof's `htu` starts with it. */
export const PUBLIC_URL = 'http://arcp.test';

/** The one agent registration key of the test apps. */
export const AGENT_KEY = 'test-agent-key-0123456789';

/** Where the Redis-backed suites run (a unique key prefix per app, deleted afterwards). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export type StoreKind = 'memory' | 'redis';
export const STORES: StoreKind[] = ['memory', 'redis'];

/** A running app and what a test needs to talk to it (and to forge tokens for it). */
export interface Harness {
  app: INestApplication;
  server: ReturnType<INestApplication['getHttpServer']>;
  config: AppConfig;
  /** The server's token signing key: lets tests make expired or wrong-audience tokens. */
  signingKey: KeyObject;
  redisPrefix: string | undefined;
  close(): Promise<void>;
}

export interface BootOptions {
  store?: StoreKind;
  /** Extra environment variables (they win over the defaults here). */
  env?: Record<string, string>;
  /** Share a Redis key prefix with another app (two instances of one service). */
  redisPrefix?: string;
  /** Share a signing key with another app. */
  signingKey?: KeyObject;
  /**
   * The app's logger. Default: errors only, printed. A suite that breaks something on purpose
   * passes a recording logger and asserts what was logged, so a passing run stays quiet.
   */
  logger?: LoggerService;
}

/**
 * Boots the real app from a config object (never `process.env`), with the same HTTP setup as
 * main.ts, ready for supertest on `server`.
 */
export async function bootApp(options: BootOptions = {}): Promise<Harness> {
  const signingKey = options.signingKey ?? generateKeyPairSync('ed25519').privateKey;
  const redisPrefix =
    options.store === 'redis'
      ? (options.redisPrefix ?? `test:arcp-app:${randomUUID()}:`)
      : undefined;
  const config = loadAppConfig({
    AGENT_KEYS: AGENT_KEY,
    ARCP_PUBLIC_URL: PUBLIC_URL,
    ARCP_SIGNING_KEY: signingKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    ...(redisPrefix !== undefined && { REDIS_URL, ARCP_REDIS_PREFIX: redisPrefix }),
    ...options.env,
  });
  // A fresh key prefix has no replay-history marker, which RedisJtiStore must take for a loss
  // (proofs would need one use_dpop_nonce round trip for a window): these suites start intact.
  if (redisPrefix !== undefined && options.redisPrefix === undefined) {
    await seedRedisHistory(`${redisPrefix}dpop:jti:`);
  }
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config)],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: options.logger ?? ['error'] });
  configureApp(app);
  await app.init();
  return {
    app,
    server: app.getHttpServer(),
    config,
    signingKey,
    redisPrefix,
    close: async () => {
      await app.close();
      if (redisPrefix !== undefined && options.redisPrefix === undefined)
        await deleteRedisKeys(redisPrefix);
    },
  };
}

/** Writes an intact replay history for a RedisJtiStore under `keyPrefix` (tests only). */
async function seedRedisHistory(keyPrefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    await seedRedisJtiStoreHistory(redis, { keyPrefix });
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix` (the suites' own keys only). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/** Keys under `prefix`, for assertions about what the app stored. */
export async function redisKeys(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    return await redis.keys(`${prefix}*`);
  } finally {
    await redis.quit();
  }
}
