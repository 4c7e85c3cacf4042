/**
 * Unauthenticated fill (issue 21 item 3): one address floods a route with fresh, validly
 * self-signed proofs (a new key every few proofs) while another client keeps working. Real HTTP
 * from two loopback source addresses (127.0.0.2 floods, 127.0.0.3 is the victim), on the memory
 * store and on Redis. The flood is scaled down here; `npm run bench:flood` sends 200,000.
 */
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { InMemoryJtiStore, RedisJtiStore, type DPoPModuleOptions, type JtiStore } from 'nest-dpop';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';

const PUBLIC_URL = 'http://api.test';
const FLOODER = '127.0.0.2';
const VICTIM = '127.0.0.3';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** Proofs the flooder sends, and how many new ones its address may have recorded. */
const FLOOD = 400;
const PER_CLIENT = 60;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One POST /items from `localAddress`, over a fresh connection (so the source is that address). */
function post(base: string, proof: string, localAddress: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}/items`,
      { method: 'POST', localAddress, agent: false, headers: { DPoP: proof, Host: 'api.test' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let flooderKeys: TestKey[];
let victimKey: TestKey;
const proofFor = (key: TestKey) => makeProof(key, { htm: 'POST', htu: `${PUBLIC_URL}/items` });

beforeAll(async () => {
  // A fresh key every ten proofs: the key budget alone would not stop it, the address's does.
  flooderKeys = await Promise.all(Array.from({ length: FLOOD / 10 }, () => makeKey('EdDSA')));
  victimKey = await makeKey('ES256');
});

/** The flood, ten at a time, then the victim's requests; every answer of each. */
async function flood(base: string): Promise<{ flooder: Answer[]; victim: Answer[] }> {
  const flooder: Answer[] = [];
  const victim: Answer[] = [];
  for (let i = 0; i < FLOOD; i += 10) {
    const proofs = await Promise.all(
      Array.from({ length: 10 }, () => proofFor(flooderKeys[i / 10]!)),
    );
    flooder.push(...(await Promise.all(proofs.map((p) => post(base, p, FLOODER)))));
    // The victim, in the middle of the flood.
    if (i % 40 === 0) victim.push(await post(base, await proofFor(victimKey), VICTIM));
  }
  return { flooder, victim };
}

/** A store that can be sized, and what the flood left in it. */
interface StoreUnderTest {
  store: JtiStore;
  size(): Promise<number>;
  close(): Promise<void>;
}

async function memoryStore(maxEntries: number): Promise<StoreUnderTest> {
  const store = new InMemoryJtiStore({ maxEntries });
  return { store, size: () => Promise.resolve(store.size), close: () => Promise.resolve() };
}

async function redisStore(): Promise<StoreUnderTest> {
  const keyPrefix = `test:fill:${randomUUID()}:`;
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await seedRedisJtiStoreHistory(client, { keyPrefix });
  const count = async (): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  };
  return {
    store: new RedisJtiStore(client, { keyPrefix }),
    // The replay keys only (not the history marker and nonce secret, which start with #).
    size: async () =>
      (await count()).filter((k) => !k.slice(keyPrefix.length).startsWith('#')).length,
    close: async () => {
      const keys = await count();
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    },
  };
}

const apps: INestApplication[] = [];
const stores: StoreUnderTest[] = [];
afterAll(async () => {
  await Promise.allSettled(apps.map((app) => app.close()));
  await Promise.allSettled(stores.map((s) => s.close()));
});

async function serve(under: StoreUnderTest, options: Partial<DPoPModuleOptions>): Promise<string> {
  stores.push(under);
  const { app, base } = await startGuardApp({
    store: under.store,
    publicUrl: PUBLIC_URL,
    allowedOrigins: [PUBLIC_URL],
    ...options,
  });
  apps.push(app);
  return base;
}

describe.each([
  ['memory', () => memoryStore(1_000)],
  ['redis', redisStore],
] as const)('a flood of fresh self-signed proofs from one address (%s store)', (_kind, make) => {
  it(`is refused past ${PER_CLIENT} new proofs with 429 + Retry-After; the victim keeps 200; the store holds ${PER_CLIENT} of the flood`, async () => {
    const under = await make();
    const base = await serve(under, { proofBudget: { perClient: PER_CLIENT, interval: 60 } });
    const { flooder, victim } = await flood(base);

    expect(flooder.filter((a) => a.status === 200)).toHaveLength(PER_CLIENT);
    const refused = flooder.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(FLOOD - PER_CLIENT);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 429, code: 'ERR_DPOP_RATE_LIMITED' });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(answer.headers['www-authenticate']).toBeUndefined();
    }
    expect(victim.map((a) => a.status)).toEqual(victim.map(() => 200));
    // The bound: what the flooder's budget let in, and the victim's own.
    expect(await under.size()).toBe(PER_CLIENT + victim.length);
  }, 60_000);
});

describe('without a budget (proofBudget: false, as before)', () => {
  it('the same flood fills a memory store of 200 entries and the victim gets 503', async () => {
    const under = await memoryStore(200);
    const base = await serve(under, { proofBudget: false });
    const { flooder, victim } = await flood(base);
    const accepted = [...flooder, ...victim].filter((a) => a.status === 200);
    expect(accepted).toHaveLength(200);
    expect(victim.at(-1)!.status).toBe(503);
    expect(victim.at(-1)!.body).toMatchObject({ code: 'ERR_DPOP_STORE_UNAVAILABLE' });
  }, 60_000);
});
