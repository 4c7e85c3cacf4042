/**
 * Two application instances behind one replay store: a proof is single-use across the fleet, not
 * per process. Each instance has its own ioredis client (as separate processes would), both on a
 * private redis-server, then on a private 3-node Redis Cluster.
 *
 * Both instances are configured with the same `publicUrl`, as behind one load balancer, so that a
 * proof made for one is valid, `htu` and all, at the other: only the replay store can refuse it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { RedisJtiStore } from 'nest-dpop';
import { redisJtiStoreKeys, replayKey, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  startCluster,
  startRedisServer,
  stopAllRedisServers,
  type RedisClusterHandle,
  type RedisServer,
} from '../support/redis-servers.js';
import { expectReplay, jtiOf, postItems, summary, untilServing } from './redis-e2e.helpers.js';

const PUBLIC_URL = 'http://api.test';
const COPIES = 200;

let key: TestKey;
const apps: INestApplication[] = [];
const clients: (Redis | Cluster)[] = [];

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

/** Two instances, A and B, each with its own client from `connect`, sharing one store. */
async function twoInstances(
  connect: () => Redis | Cluster,
  keyPrefix: string,
): Promise<[string, string]> {
  const bases: string[] = [];
  for (let i = 0; i < 2; i++) {
    const client = connect();
    clients.push(client);
    client.on('error', () => {}); // reported through the store as 503s; nothing to log here
    // Fresh redis-servers have no history marker, which the stores would take for a loss (see
    // history-loss.e2e-spec.ts): these tests are about sharing an intact history.
    if (i === 0) await seedRedisJtiStoreHistory(client, { keyPrefix });
    const { app, base } = await startGuardApp({
      publicUrl: PUBLIC_URL,
      // Fresh redis-servers: a small clockSkew keeps the start-up window (see RedisJtiStore) short.
      clockSkew: 1,
      store: new RedisJtiStore(client, { keyPrefix, clockSkew: 1 }),
    });
    apps.push(app);
    bases.push(base);
    await untilServing(base, key, `${PUBLIC_URL}/items`);
  }
  return bases as [string, string];
}

/** proofTtl 120 s + the clockSkew of 1 s these instances use + the one-second margin. */
const REPLAY_WINDOW_MS = (120 + 1 + 1) * 1000;

const proof = () => makeProof(key, { htm: 'POST', htu: `${PUBLIC_URL}/items` });

/** Waits until the client is ready, so that the first request is not refused as "store unavailable". */
async function ready(client: Redis | Cluster): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

describe.each([
  ['one redis-server', 'single'],
  ['a 3-node Redis Cluster', 'cluster'],
] as const)('two instances sharing %s', (_name, kind) => {
  let server: RedisServer | undefined;
  let cluster: RedisClusterHandle | undefined;
  let a: string;
  let b: string;
  const keyPrefix = `test:multi:${kind}:${process.pid}:`;

  /** PTTL of a stored jti, read from the node that holds it. */
  const pttl = async (jti: string) => {
    // On a Cluster every key carries its first character as hash tag (next to its marker).
    const stored = redisJtiStoreKeys({ keyPrefix, cluster: cluster !== undefined }).recordKey(jti);
    const node = cluster ? cluster.nodeForKey(stored) : server!;
    return Number(await node.command('PTTL', stored));
  };

  beforeAll(async () => {
    if (kind === 'single') {
      server = await startRedisServer();
      [a, b] = await twoInstances(
        () => new Redis({ host: server!.host, port: server!.port, maxRetriesPerRequest: 1 }),
        keyPrefix,
      );
    } else {
      cluster = await startCluster(3);
      [a, b] = await twoInstances(
        () =>
          new Cluster([...cluster!.startupNodes], { redisOptions: { maxRetriesPerRequest: 1 } }),
        keyPrefix,
      );
    }
    await Promise.all(clients.slice(-2).map(ready));
  }, 20_000);

  it('instance B refuses as a replay a proof that instance A accepted, and A its own replay', async () => {
    const p = await proof();
    const first = await postItems(a, p);
    expect(summary(first)).toEqual({ status: 200, code: undefined });
    expect(first.body?.jkt).toBe(key.jkt);

    // The jti is in the shared store, with the replay window as its lifetime (SET … PX … NX).
    const ttl = await pttl(replayKey(key.jkt, jtiOf(p)));
    expect(ttl).toBeGreaterThan(REPLAY_WINDOW_MS - 10_000);
    expect(ttl).toBeLessThanOrEqual(REPLAY_WINDOW_MS);

    expectReplay(await postItems(b, p));
    expectReplay(await postItems(a, p));

    // And the other way round, so that neither instance is special.
    const q = await proof();
    expect(summary(await postItems(b, q))).toEqual({ status: 200, code: undefined });
    expectReplay(await postItems(a, q));
  });

  it(`accepts exactly one of ${COPIES} concurrent copies of a proof spread over both instances`, async () => {
    const p = await proof();
    const replies = await Promise.all(
      Array.from({ length: COPIES }, (_, i) =>
        postItems(i % 2 === 0 ? a : b, p).then((reply) => ({ i, reply })),
      ),
    );
    const counts: Record<string, number> = {};
    for (const { reply } of replies) {
      const k =
        `${reply.status} ${typeof reply.body?.code === 'string' ? reply.body.code : ''}`.trim();
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts).toEqual({ '200': 1, '401 ERR_DPOP_REPLAY': COPIES - 1 });
    for (const { reply } of replies) if (reply.status === 401) expectReplay(reply);

    // Both instances did answer replays: the refusals did not all come from one process.
    const refusedBy = (base: string) =>
      replies.filter(({ i, reply }) => (i % 2 === 0 ? a : b) === base && reply.status === 401)
        .length;
    expect(refusedBy(a)).toBeGreaterThanOrEqual(COPIES / 2 - 1);
    expect(refusedBy(b)).toBeGreaterThanOrEqual(COPIES / 2 - 1);
  });
});
