import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, HttpCode, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DPoPGuard, DPoPModule, JKT } from 'nest-dpop';
import { createDPoPFetch, DPoPGenerator } from 'nest-dpop-client';
import { RedisNonceStore } from '../../examples/shared-nonces/redis-nonce.store.js';
import type {
  SharedNoncesWorkerData,
  SharedNoncesWorkerResult,
} from './support/shared-nonces.worker.js';

/**
 * Nonces shared across workers (issue 22 item 4): two `node:worker_threads` workers of one agent
 * (one non-extractable key) against a real Nest app that requires server nonces. With the
 * example Redis store (examples/shared-nonces) only the first worker meets a `use_dpop_nonce`
 * challenge; the second's first proof already carries the nonce. With a memory store each,
 * both pay the round trip. Then the store itself: newest wins under a late write, atomically,
 * and every key has a TTL.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `nest-dpop-test:shared-nonces:${process.pid}:${randomBytes(4).toString('hex')}:`;
const WORKER = fileURLToPath(new URL('./support/shared-nonces.worker.ts', import.meta.url));

@Controller('shared')
@UseGuards(DPoPGuard)
class SharedController {
  @Post('items')
  @HttpCode(200)
  item(@JKT() jkt: string): { jkt: string } {
    return { jkt };
  }
}

/** One request the app answered: its status, whether it was a nonce challenge, the proof's nonce. */
interface Seen {
  status: number;
  challenge: boolean;
  nonce: string | undefined;
}

const seen: Seen[] = [];
let app: INestApplication;
let url: string;
let redis: Redis;
let workDir: string;
let workerBundle: string;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [DPoPModule.forRoot({ required: true, nonce: true, algorithms: ['ES256'] })],
    controllers: [SharedController],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/shared/items`;
  (app.getHttpServer() as Server).on('request', (req: IncomingMessage, res: ServerResponse) => {
    const payload = String(req.headers.dpop ?? '').split('.')[1] ?? '';
    const { nonce } = JSON.parse(Buffer.from(payload, 'base64url').toString() || '{}') as {
      nonce?: string;
    };
    res.on('finish', () =>
      seen.push({
        status: res.statusCode,
        challenge: /error="use_dpop_nonce"/.test(String(res.getHeader('WWW-Authenticate'))),
        nonce,
      }),
    );
  });

  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

  // Workers cannot load TypeScript through Jest: the worker, the client core, the example store
  // and ioredis are bundled into one CommonJS file.
  workDir = await mkdtemp(join(tmpdir(), 'dpop-shared-nonces-'));
  workerBundle = join(workDir, 'worker.cjs');
  await build({
    entryPoints: [WORKER],
    outfile: workerBundle,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await app?.close();
  if (redis) {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Runs one worker to its end; what it posted. */
function runWorker(data: SharedNoncesWorkerData): Promise<SharedNoncesWorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerBundle, { workerData: data });
    let result: SharedNoncesWorkerResult | undefined;
    worker.on('message', (message: SharedNoncesWorkerResult) => (result = message));
    worker.on('error', reject);
    worker.on('exit', (code) =>
      result && code === 0 ? resolve(result) : reject(new Error(`worker exited with ${code}`)),
    );
  });
}

/** Two workers of one agent, one after the other; the requests the server saw from each. */
async function twoWorkers(store: 'redis' | 'memory', prefix: string) {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  const jkt = (await DPoPGenerator.fromKeyPair(keys)).jkt;
  const data = { url, keys, store, redisUrl: REDIS_URL, prefix, requests: 3 };
  seen.length = 0;
  const first = await runWorker(data);
  const firstSeen = seen.splice(0);
  const second = await runWorker(data);
  const secondSeen = seen.splice(0);
  // One agent: both workers signed with the key made here, which never left as bytes.
  expect([first.jkt, second.jkt]).toEqual([jkt, jkt]);
  expect(keys.privateKey.extractable).toBe(false);
  return { first, second, firstSeen, secondSeen };
}

describe('two workers of one agent against a server that requires nonces', () => {
  it('with the shared Redis store: only the first worker pays the use_dpop_nonce round trip', async () => {
    const prefix = `${PREFIX}workers:`;
    const { first, second, firstSeen, secondSeen } = await twoWorkers('redis', prefix);

    expect(first.statuses).toEqual([200, 200, 200]);
    expect(second.statuses).toEqual([200, 200, 200]);
    // The first worker: one challenge (401 use_dpop_nonce), the retry, then the stored nonce.
    expect(firstSeen.map((s) => [s.status, s.challenge])).toEqual([
      [401, true],
      [200, false],
      [200, false],
      [200, false],
    ]);
    expect(firstSeen[0]!.nonce).toBeUndefined();
    const nonce = firstSeen[1]!.nonce;
    expect(nonce).toEqual(expect.any(String));
    // The second worker's very first proof carries the nonce the first one received.
    expect(secondSeen.map((s) => [s.status, s.challenge])).toEqual([
      [200, false],
      [200, false],
      [200, false],
    ]);
    expect(secondSeen[0]!.nonce).toBe(nonce);

    // It is in Redis under the prefix, per origin, with a TTL (bounded).
    const key = `${prefix}${new URL(url).origin}`;
    expect(await redis.hget(key, 'nonce')).toBe(nonce);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300_000);
  });

  it('with a memory store each (the control): both workers pay the round trip', async () => {
    const { first, second, firstSeen, secondSeen } = await twoWorkers('memory', `${PREFIX}x:`);

    expect(first.statuses).toEqual([200, 200, 200]);
    expect(second.statuses).toEqual([200, 200, 200]);
    for (const requests of [firstSeen, secondSeen]) {
      expect(requests.map((s) => [s.status, s.challenge])).toEqual([
        [401, true],
        [200, false],
        [200, false],
        [200, false],
      ]);
    }
  });
});

describe('RedisNonceStore (examples/shared-nonces)', () => {
  const origin = 'https://api.example.com:8443';

  it('keeps the newest nonce when an older one is written late', async () => {
    const store = new RedisNonceStore(redis, { prefix: `${PREFIX}late:` });
    await store.set(origin, 'nonce-new', 2_000);
    await store.set(origin, 'nonce-old', 1_000); // a slow worker's write arrives after
    expect(await store.get(origin)).toBe('nonce-new');
    await store.set(origin, 'nonce-newer', 3_000);
    expect(await store.get(origin)).toBe('nonce-newer');
    // Same time: the later write wins, as in the memory store.
    await store.set(origin, 'nonce-same', 3_000);
    expect(await store.get(origin)).toBe('nonce-same');
    expect(await store.get('https://other.example.com')).toBeUndefined();
  });

  it('keeps the newest under 50 concurrent writes from 5 connections in shuffled order', async () => {
    const store = new RedisNonceStore(redis, { prefix: `${PREFIX}race:` });
    const times = Array.from({ length: 50 }, (_, i) => 10_000 + i);
    times.sort(() => Math.random() - 0.5);
    // Separate connections, so the writes really interleave on the server.
    const clients = Array.from({ length: 5 }, () => new Redis(REDIS_URL));
    try {
      const stores = clients.map((c) => new RedisNonceStore(c, { prefix: `${PREFIX}race:` }));
      await Promise.all(times.map((t, i) => stores[i % 5]!.set(origin, `nonce-${t}`, t)));
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
    expect(await store.get(origin)).toBe('nonce-10049');
  });

  it('gives every origin its own key with a TTL, and refuses a TTL that is not one', async () => {
    const prefix = `${PREFIX}ttl:`;
    const store = new RedisNonceStore(redis, { prefix, ttlSeconds: 2 });
    await store.set(origin, 'nonce-a', 1);
    await store.set('http://127.0.0.1:3000', 'nonce-b', 1);
    expect((await redis.keys(`${prefix}*`)).sort()).toEqual([
      `${prefix}http://127.0.0.1:3000`,
      `${prefix}${origin}`,
    ]);
    const ttl = await redis.pttl(store.keyOf(origin));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);
    expect(() => new RedisNonceStore(redis, { ttlSeconds: 0 })).toThrow(RangeError);
  });

  it('does not fail a request when Redis is down: the server asks for a nonce again', async () => {
    // A real client whose connection is gone: every command rejects ("Connection is closed").
    const down = new Redis(REDIS_URL, { lazyConnect: true });
    down.disconnect();
    const store = new RedisNonceStore(down, { prefix: `${PREFIX}down:` });
    await expect(store.get(origin)).rejects.toThrow();
    seen.length = 0;
    const dpopFetch = createDPoPFetch(await DPoPGenerator.generate('ES256'), { nonces: store });
    expect((await dpopFetch(url, { method: 'POST' })).status).toBe(200);
    expect((await dpopFetch(url, { method: 'POST' })).status).toBe(200);
    expect(seen.map((s) => s.status)).toEqual([401, 200, 401, 200]);
  });
});
