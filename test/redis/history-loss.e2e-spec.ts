/**
 * Replay safety across Redis data loss: a Redis that restarts without persistence (or is
 * flushed) forgets the jtis of the acceptance window. RedisJtiStore must notice, and for one
 * window accept only proofs issued after the loss, so that no proof seen before it can be
 * replayed while honest clients, whose proofs are fresh, carry on.
 *
 * Private redis-server processes only (no persistence: `--save '' --appendonly no`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisJtiStore } from 'nest-dpop';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  sleep,
  startRedisServer,
  stopAllRedisServers,
  type RedisServer,
} from '../support/redis-servers.js';
import { debugReport, Load, postItems, summary, untilServing } from './redis-e2e.helpers.js';

/** Module and store share it: after a loss, proofs need an iat past the loss plus this. */
const CLOCK_SKEW = 1;

let key: TestKey;
const apps: INestApplication[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  key = await makeKey('EdDSA');
});

afterAll(async () => {
  try {
    await Promise.allSettled(apps.map((app) => app.close()));
    for (const client of clients) client.disconnect();
  } finally {
    await stopAllRedisServers();
  }
});

function client(server: RedisServer): Redis {
  const redis = new Redis({
    host: server.host,
    port: server.port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    lazyConnect: false,
  });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

async function instance(server: RedisServer, prefix: string): Promise<string> {
  const store = new RedisJtiStore(client(server), { keyPrefix: prefix, clockSkew: CLOCK_SKEW });
  const { app, base } = await startGuardApp({ store, clockSkew: CLOCK_SKEW });
  apps.push(app);
  return base;
}

describe('beyond every peer: replay safety across Redis data loss', () => {
  it('refuses every already used proof after a restart without persistence, under load, while honest traffic continues', async () => {
    const server = await startRedisServer();
    const prefix = `test:history:${process.pid}:a:`;
    const bases = [await instance(server, prefix), await instance(server, prefix)];
    await Promise.all(bases.map((base) => untilServing(base, key)));

    const load = new Load({
      key,
      target: (seq) => bases[seq % 2]!,
      concurrency: 8,
      maxRequests: 20_000,
      intervalMs: 5,
    });
    await load.until(
      'accepted proofs before the restart',
      () => load.count((o) => o.status === 200) >= 100,
    );
    // Proofs the servers accepted: each is in Redis' history, and each is still within proofTtl.
    const used = load.outcomes.filter((o) => o.status === 200).slice(0, 100);

    load.phase = 'down';
    await server.stop();
    await sleep(200);
    await server.start();
    load.phase = 'up';

    // Replay every used proof (twice at once, to the instance whose URL it names), concurrently
    // with the honest load, while the stores are finding out and after they have.
    const replays: { status: number; code: unknown }[] = [];
    const replayAll = async () => {
      const replies = await Promise.all(
        used.flatMap((o) => [1, 2].map(() => postItems(o.target, o.proof).then(summary))),
      );
      replays.push(...replies);
    };
    await replayAll();
    await load.until(
      'honest requests accepted after the restart',
      () => load.count((o) => o.phase === 'up' && o.status === 200) >= 50,
      15_000,
    );
    await replayAll();
    const outcomes = await load.stop();
    debugReport('history loss', outcomes);

    expect(replays.filter((r) => r.status === 200)).toEqual([]);
    for (const r of replays) {
      expect(['401 ERR_DPOP_REPLAY', '503 ERR_DPOP_STORE_UNAVAILABLE']).toContain(
        `${r.status} ${r.code}`,
      );
    }
    // No 500, no network error, and honest traffic resumed.
    expect(outcomes.filter((o) => o.status === 0 || (o.status >= 500 && o.status !== 503))).toEqual(
      [],
    );
    expect(
      outcomes.filter((o) => o.phase === 'up' && o.status === 200).length,
    ).toBeGreaterThanOrEqual(50);
    // Every jti was accepted at most once, across both instances and the restart.
    const accepted = outcomes.filter((o) => o.status === 200).map((o) => o.jti);
    expect(new Set(accepted).size).toBe(accepted.length);
  });

  it('notices a flush without a reconnect, on the very next proof', async () => {
    const server = await startRedisServer();
    const base = await instance(server, `test:history:${process.pid}:b:`);
    await untilServing(base, key);
    const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
    expect((await postItems(base, proof)).status).toBe(200);
    await server.command('FLUSHALL');
    const replay = summary(await postItems(base, proof));
    expect(['401 ERR_DPOP_REPLAY', '503 ERR_DPOP_STORE_UNAVAILABLE']).toContain(
      `${replay.status} ${replay.code}`,
    );
    // After the detection, the old proof stays refused and fresh ones pass (past the skew).
    await untilServing(base, key);
    expect(summary(await postItems(base, proof))).toEqual({
      status: 503,
      code: 'ERR_DPOP_STORE_UNAVAILABLE',
    });
  });

  it('refuses (503) while it cannot tell whether history was lost, i.e. before its first check', async () => {
    const server = await startRedisServer();
    const redis = client(server);
    await new Promise((resolve) => redis.once('ready', resolve));
    await server.stop();
    const store = new RedisJtiStore(redis, { keyPrefix: `test:history:${process.pid}:c:` });
    await expect(
      store.recordIfNew('a', 1000, { iat: Math.floor(Date.now() / 1000) }),
    ).rejects.toMatchObject({
      code: 'ERR_DPOP_STORE_UNAVAILABLE',
    });
    store.onModuleDestroy();
  });
});
