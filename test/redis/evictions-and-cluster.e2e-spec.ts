/**
 * Two ways a Redis forgets live jtis without a restart or a flush of "the" marker: evictions
 * (a `maxmemory-policy` other than `noeviction`), and, on a Cluster, a flush of one master. Each
 * would let an attacker replay a used proof; RedisJtiStore must notice.
 *
 * Private redis-server processes only.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster } from 'ioredis';
import { RedisJtiStore } from 'nest-dpop';
import { redisJtiStoreKeys, replayKey, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  closeRedisFixtures,
  clusterClient,
  ready,
  redisClient,
  redisStore,
  serve as serveStore,
} from '../support/redis-fixtures.js';
import { startCluster, startRedisServer, type RedisServer } from '../support/redis-servers.js';
import { isUseNonce, jtiOf, postItems, summary } from './redis-e2e.helpers.js';

let key: TestKey;

beforeAll(async () => {
  key = await makeKey('EdDSA');
});

afterAll(closeRedisFixtures);

const connect = (server: RedisServer) => ready(redisClient(server, { maxRetriesPerRequest: 1 }));
const serve = (store: RedisJtiStore) => serveStore(store);

const fresh = (base: string) => makeProof(key, { htm: 'POST', htu: `${base}/items` });

describe('evictions', () => {
  it('refuses to start on a Redis that may evict live records (maxmemory + volatile-lru), and refuses every proof', async () => {
    const server = await startRedisServer({
      args: ['--maxmemory', '50mb', '--maxmemory-policy', 'volatile-lru'],
    });
    const redis = await connect(server);
    const prefix = `test:evict:${process.pid}:a:`;
    await seedRedisJtiStoreHistory(redis, { keyPrefix: prefix });
    await expect(serve(new RedisJtiStore(redis, { keyPrefix: prefix }))).rejects.toThrow(
      /maxmemory-policy volatile-lru.*set maxmemory-policy noeviction/,
    );
    const store = redisStore(redis, { keyPrefix: prefix });
    const refusal = await store
      .recordIfNew(replayKey(key.jkt, 'x'), 1000, { iat: Math.floor(Date.now() / 1000) })
      .catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      code: 'ERR_DPOP_STORE_UNAVAILABLE',
      message: expect.stringMatching(/may evict DPoP replay records/),
    });
  });

  it('a policy switched at run time is refused at the next check; evictions count as a loss', async () => {
    const server = await startRedisServer();
    const redis = await connect(server);
    const prefix = `test:evict:${process.pid}:b:`;
    await seedRedisJtiStoreHistory(redis, { keyPrefix: prefix });
    const store = redisStore(redis, { keyPrefix: prefix });
    const base = await serve(store);
    const used = await fresh(base);
    expect((await postItems(base, used)).status).toBe(200);

    // Only keys with an expiry may go (the marker has none): exactly the jtis.
    await server.command('CONFIG', 'SET', 'maxmemory-policy', 'volatile-random');
    await server.command('CONFIG', 'SET', 'maxmemory', '1');
    await server.command('SET', `${prefix}junk`, 'x').catch(() => undefined);
    const stored = prefix + replayKey(key.jkt, jtiOf(used));
    expect(await server.command('EXISTS', stored)).toBe('0');
    await store.checkHistory();
    expect(summary(await postItems(base, await fresh(base)))).toEqual({
      status: 503,
      code: 'ERR_DPOP_STORE_UNAVAILABLE',
    });

    await server.command('CONFIG', 'SET', 'maxmemory', '0');
    await server.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await store.checkHistory();
    // Its jti was evicted: without the check this replay would pass.
    const replay = await postItems(base, used);
    expect(isUseNonce(replay)).toBe(true);
    const nonce = replay.headers.get('dpop-nonce')!;
    const retry = await makeProof(key, { htm: 'POST', htu: `${base}/items`, claims: { nonce } });
    expect(summary(await postItems(base, retry))).toEqual({ status: 200, code: undefined });
  });
});

describe('a Redis Cluster', () => {
  it('notices the flush of a master that does not hold the first marker: no used proof passes again', async () => {
    const cluster = await startCluster(3);
    const client = await ready(clusterClient(cluster));
    const prefix = `test:cluster-history:${process.pid}:`;
    await seedRedisJtiStoreHistory(client, { keyPrefix: prefix });
    const base = await serve(new RedisJtiStore(client, { keyPrefix: prefix }));

    const used: string[] = [];
    for (let i = 0; i < 60; i++) {
      const proof = await fresh(base);
      expect(summary(await postItems(base, proof))).toEqual({ status: 200, code: undefined });
      used.push(proof);
    }
    // A master other than the one a single marker (the history key) would live on.
    const keys = redisJtiStoreKeys({ keyPrefix: prefix, cluster: true });
    const victim = cluster.nodes.find((node) => node !== cluster.nodeForKey(keys.historyKey))!;
    const onVictim = used.filter((proof) => {
      const stored = replayKey(key.jkt, jtiOf(proof));
      return cluster.nodeForKey(keys.recordKey(stored)) === victim;
    });
    expect(onVictim.length).toBeGreaterThan(0);
    await victim.command('FLUSHALL');

    const replies = await Promise.all(used.map((proof) => postItems(base, proof)));
    const outcomes = replies.map((reply) => `${reply.status} ${String(reply.body?.code)}`);
    expect(outcomes.filter((o) => o.startsWith('200'))).toEqual([]);
    for (const o of outcomes)
      expect(['401 ERR_DPOP_REPLAY', '401 ERR_DPOP_USE_NONCE']).toContain(o);
    expect(outcomes.filter((o) => o === '401 ERR_DPOP_USE_NONCE').length).toBeGreaterThanOrEqual(
      onVictim.length,
    );
  }, 30_000);

  it('a master restarted from a snapshot is a loss even while the Cluster lists a node twice', async () => {
    const cluster = await startCluster(3);
    const real: Cluster = await ready(clusterClient(cluster));
    // As ioredis does for a moment while it replaces a node's connection: one master twice.
    const client = new Proxy(real, {
      get(target, property) {
        if (property === 'nodes') {
          return (role: 'master') => {
            const nodes = target.nodes(role);
            return nodes.length > 0 ? [...nodes, nodes[0]!] : nodes;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const prefix = `test:cluster-snapshot:${process.pid}:`;
    await seedRedisJtiStoreHistory(real, { keyPrefix: prefix });
    const store = redisStore(client, { keyPrefix: prefix });
    await store.checkHistory();
    const victim = cluster.nodes[0]!;
    const stored = (jti: string) => {
      const k = replayKey(key.jkt, jti);
      return (
        cluster.nodeForKey(redisJtiStoreKeys({ keyPrefix: prefix, cluster: true }).recordKey(k)) ===
        victim
      );
    };
    const iat = Math.floor(Date.now() / 1000);
    // The snapshot has the markers; the jtis recorded next are not in it.
    await victim.command('SAVE');
    const lost: string[] = [];
    for (let i = 0; lost.length < 5; i++) {
      if (!stored(`snap-${i}`)) continue;
      await expect(
        store.recordIfNew(replayKey(key.jkt, `snap-${i}`), 181_000, { iat }),
      ).resolves.toBe(true);
      lost.push(`snap-${i}`);
    }
    await victim.stop('SIGKILL');
    await victim.start();
    await cluster.waitUntilOk();
    // With or without a check in between: the next proofs on the victim see the restart.
    const replays = await Promise.all(
      lost.map((jti) =>
        store
          .recordIfNew(replayKey(key.jkt, jti), 181_000, { iat })
          .catch((error: { code?: string }) => error.code),
      ),
    );
    expect(replays).toEqual(lost.map(() => 'ERR_DPOP_USE_NONCE'));
  }, 30_000);
});
