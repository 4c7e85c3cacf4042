/**
 * Issue 21: no replay window after a restart from a snapshot, a failover to a replica that
 * missed the last writes, or a loss noticed by an instance whose clock is off. Each scenario let
 * a used proof pass again on the 0.3 store. Store-level (the guard adds nothing to these), on
 * private redis-server processes; the clients stay connected throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JtiStoreProofInfo, RedisJtiStore } from 'nest-dpop';
import { redisJtiStoreKeys, replayKey, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { makeKey, type TestKey } from '../support/proofs.js';
import {
  closeRedisFixtures,
  clusterClient,
  ready,
  redisClient,
  redisStore,
} from '../support/redis-fixtures.js';
import {
  sleep,
  startCluster,
  startRedisServer,
  startReplica,
  type RedisClusterHandle,
  type RedisServer,
} from '../support/redis-servers.js';

/** proofTtl 120 s + clockSkew + 1 s. */
const WINDOW_MS = 126_000;
/** The module's and the stores' clockSkew, in seconds. */
const SKEW = 5;
/** How far the instances' clocks are off: more than the skew. */
const OFF_MS = (SKEW + 3) * 1000;
const ROUNDS = 5;

let key: TestKey;

beforeAll(async () => {
  key = await makeKey('EdDSA');
});

afterAll(closeRedisFixtures);

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** What a store answers: `ACCEPTED`, `replay`, or the refusal's code. */
function outcome(answer: Promise<boolean>): Promise<string> {
  return answer.then(
    (fresh) => (fresh ? 'ACCEPTED' : 'replay'),
    (error: Error & { code?: string }) => error.code ?? error.message,
  );
}

function record(store: RedisJtiStore, k: string, info: JtiStoreProofInfo): Promise<string> {
  return outcome(store.recordIfNew(k, WINDOW_MS, { clockSkew: SKEW, ...info }));
}

/**
 * Replays `used` (round robin), one every ~5 ms, until stopped; counts the answers. `answered`
 * counts those that were not 503 (a server answered and the store judged).
 */
function replayLoop(store: RedisJtiStore, used: readonly string[], iat: number, nonce?: string) {
  const tally: Record<string, number> = {};
  let stopped = false;
  let judged = 0;
  const running = (async () => {
    for (let i = 0; !stopped; i++) {
      const answer = await record(store, used[i % used.length]!, {
        iat,
        ...(nonce !== undefined && { nonce }),
      });
      tally[answer] = (tally[answer] ?? 0) + 1;
      if (answer !== 'ERR_DPOP_STORE_UNAVAILABLE') judged++;
      await sleep(5);
    }
  })();
  return {
    tally,
    /** Resolves once `n` more replays were judged (or after `timeoutMs`). */
    async judgedMore(n: number, timeoutMs = 10_000): Promise<void> {
      const target = judged + n;
      const deadline = Date.now() + timeoutMs;
      while (judged < target && Date.now() < deadline) await sleep(5);
    },
    async stop(): Promise<Record<string, number>> {
      stopped = true;
      await running;
      return tally;
    },
  };
}

/**
 * Records every key as fresh proofs do, with the recovery nonce a conforming client would have
 * got if the store is still recovering from the previous round's loss; resolves with it.
 */
async function acceptAll(
  store: RedisJtiStore,
  keys: readonly string[],
  iat: number,
): Promise<string | undefined> {
  const challenge = await store.recordIfNew(keys[0]!, WINDOW_MS, { iat, clockSkew: SKEW }).then(
    () => undefined,
    (error: { nonce?: string }) => error.nonce,
  );
  const info = { iat, ...(challenge !== undefined && { nonce: challenge }) };
  const answers = await Promise.all(keys.slice(1).map((k) => record(store, k, info)));
  expect(answers.filter((answer) => answer !== 'ACCEPTED')).toEqual([]);
  if (challenge !== undefined) expect(await record(store, keys[0]!, info)).toBe('ACCEPTED');
  return challenge;
}

/** A client event, as a promise registered now (before what causes it). */
function next(client: { once(event: string, listener: () => void): unknown }, event: string) {
  return new Promise<void>((resolve) => client.once(event, resolve));
}

describe('one clock: instance clocks clockSkew + 3 s apart', () => {
  it('a flush noticed first by a slow instance: a proof used just before it is not accepted again', async () => {
    const server = await startRedisServer();
    const keyPrefix = `test:windows:${process.pid}:slow:`;
    await seedRedisJtiStoreHistory(await ready(redisClient(server)), { keyPrefix });
    const correct = redisStore(await ready(redisClient(server)), { keyPrefix, clockSkew: SKEW });
    const slow = redisStore(await ready(redisClient(server)), {
      keyPrefix,
      clockSkew: SKEW,
      now: () => Date.now() - OFF_MS,
    });
    await Promise.all([correct.checkHistory(), slow.checkHistory()]);
    const used = replayKey(key.jkt, 'slow-detector');
    const iat = nowSeconds();
    expect(await record(correct, used, { iat })).toBe('ACCEPTED');
    await sleep(300);
    await server.command('FLUSHDB');
    // The slow instance sees the flush first, with a proof of its own (iat on its clock).
    const own = replayKey(key.jkt, 'slow-own');
    expect(await record(slow, own, { iat: Math.floor((Date.now() - OFF_MS) / 1000) })).toBe(
      'ERR_DPOP_USE_NONCE',
    );
    expect([await record(correct, used, { iat }), await record(slow, used, { iat })]).toEqual([
      'ERR_DPOP_USE_NONCE',
      'ERR_DPOP_USE_NONCE',
    ]);
  });

  it("recovery nonces of a fast instance, then a restart from a snapshot that keeps the nonces' secret: proofs that carried them are not accepted again", async () => {
    const server = await startRedisServer();
    const keyPrefix = `test:windows:${process.pid}:fast:`;
    // No seed: a fresh prefix is a loss, and the fast instance hands out recovery nonces.
    const fastClient = await ready(redisClient(server));
    const fast = redisStore(fastClient, {
      keyPrefix,
      clockSkew: SKEW,
      now: () => Date.now() + OFF_MS,
    });
    const correct = redisStore(await ready(redisClient(server)), { keyPrefix, clockSkew: SKEW });
    await Promise.all([fast.checkHistory(), correct.checkHistory()]);
    const challenge = await fast
      .recordIfNew(replayKey(key.jkt, 'fast-0'), WINDOW_MS, { iat: nowSeconds(), clockSkew: SKEW })
      .catch((error: { code?: string; nonce?: string }) => error);
    expect(challenge).toMatchObject({ code: 'ERR_DPOP_USE_NONCE' });
    const nonce = (challenge as { nonce: string }).nonce;
    // The snapshot holds the marker and the secret; the proofs used next are not in it.
    await server.command('SAVE');
    const iat = nowSeconds();
    const used = Array.from({ length: 8 }, (_, i) => replayKey(key.jkt, `fast-${i + 1}`));
    for (const k of used) expect(await record(fast, k, { iat, nonce })).toBe('ACCEPTED');
    // The correct instance is back first and notices the restart; the fast one follows.
    fastClient.options.retryStrategy = () => 1500;
    const back = next(fastClient, 'ready');
    await server.stop('SIGKILL');
    await server.start();
    await back;
    await fast.checkHistory();
    const replays = [];
    for (const k of used) replays.push(await record(fast, k, { iat, nonce }));
    expect(replays.filter((answer) => answer === 'ACCEPTED')).toEqual([]);
  });
});

describe('no window after a restart from a snapshot', () => {
  it(`one Redis, client connected: 0 of the lost jtis accepted again in ${ROUNDS} rounds`, async () => {
    const server = await startRedisServer();
    const keyPrefix = `test:windows:${process.pid}:snapshot:`;
    const client = await ready(redisClient(server, { maxRetriesPerRequest: 1 }));
    await seedRedisJtiStoreHistory(client, { keyPrefix });
    const store = redisStore(client, { keyPrefix, clockSkew: SKEW });
    await store.checkHistory();
    const tallies: Record<string, number>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await server.command('SAVE');
      const iat = nowSeconds();
      const used = Array.from({ length: 400 }, (_, i) => replayKey(key.jkt, `s${round}-${i}`));
      const nonce = await acceptAll(store, used, iat);
      const replays = replayLoop(store, used, iat, nonce);
      const back = next(client, 'ready');
      await server.stop('SIGKILL');
      await server.start();
      await back;
      await replays.judgedMore(200);
      tallies.push(await replays.stop());
    }
    expect(tallies.map((tally) => tally.ACCEPTED ?? 0)).toEqual(tallies.map(() => 0));
    // The restarts were noticed (not merely waited out).
    for (const tally of tallies) expect(tally.ERR_DPOP_USE_NONCE).toBeGreaterThan(0);
  }, 60_000);

  it(`a 3-master Cluster, one master restarted, client connected: 0 accepted again in ${ROUNDS} rounds`, async () => {
    const cluster = await startCluster(3);
    const keyPrefix = `test:windows:${process.pid}:cluster-snapshot:`;
    const client = await ready(clusterClient(cluster));
    await seedRedisJtiStoreHistory(client, { keyPrefix });
    const store = redisStore(client, { keyPrefix, clockSkew: SKEW });
    await store.checkHistory();
    const victim = cluster.nodes[0]!;
    const tallies: Record<string, number>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await victim.command('SAVE');
      const iat = nowSeconds();
      const used = keysOn(cluster, victim, keyPrefix, `c${round}`, 400);
      const nonce = await acceptAll(store, used, iat);
      const replays = replayLoop(store, used, iat, nonce);
      await victim.stop('SIGKILL');
      await victim.start();
      await cluster.waitUntilOk();
      await replays.judgedMore(200);
      tallies.push(await replays.stop());
    }
    expect(tallies.map((tally) => tally.ACCEPTED ?? 0)).toEqual(tallies.map(() => 0));
    for (const tally of tallies) expect(tally.ERR_DPOP_USE_NONCE).toBeGreaterThan(0);
  }, 90_000);
});

describe('no window after a failover to a replica that missed the last writes', () => {
  it('a Cluster master fails over to its replica: 0 of the writes it missed accepted again', async () => {
    const cluster = await startCluster(3);
    const victim = cluster.nodes[0]!;
    const replica = await startReplica(victim);
    const keyPrefix = `test:windows:${process.pid}:failover:`;
    const client = await ready(clusterClient(cluster));
    await seedRedisJtiStoreHistory(client, { keyPrefix });
    const store = redisStore(client, { keyPrefix, clockSkew: SKEW });
    await store.checkHistory();
    const keys = redisJtiStoreKeys({ keyPrefix, cluster: true });
    const iat = nowSeconds();
    const before = keysOn(cluster, victim, keyPrefix, 'replicated', 20);
    for (const k of before) expect(await record(store, k, { iat })).toBe('ACCEPTED');
    await sleep(100); // replicated (the link is up and idle)

    // Replication paused: the replica stops reading, and a large write fills the link, so that
    // what comes next stays in the master's memory.
    process.kill(replica.pid!, 'SIGSTOP');
    const junk = keysOnRaw(cluster, victim, 'junk', 1)[0]!;
    await client.set(junk, 'x'.repeat(16 * 1024 * 1024));
    const lost = keysOn(cluster, victim, keyPrefix, 'missed', 50);
    for (const k of lost) expect(await record(store, k, { iat })).toBe('ACCEPTED');
    await victim.stop('SIGKILL');
    // Replayed from now on, through the failover and after it.
    const replays = replayLoop(store, [...lost, ...before], iat);
    process.kill(replica.pid!, 'SIGCONT');
    await replica.command('CLUSTER', 'FAILOVER', 'TAKEOVER');
    const deadline = Date.now() + 10_000;
    while (!/role:master/.test(await replica.command('INFO', 'replication'))) {
      if (Date.now() > deadline) throw new Error('the replica never took over');
      await sleep(20);
    }
    // The scenario: the new master has the marker, not the jtis it missed.
    for (const k of lost) expect(await replica.command('EXISTS', keys.recordKey(k))).toBe('0');
    expect(await replica.command('EXISTS', keys.markerKeyOf(lost[0]!))).toBe('1');

    await replays.judgedMore(300, 20_000);
    const tally = await replays.stop();
    expect(tally.ACCEPTED ?? 0).toBe(0);
    expect(tally.ERR_DPOP_USE_NONCE).toBeGreaterThan(0);
  }, 90_000);
});

/** `n` replay keys (of jtis `<label>-i`) that live on `node`. */
function keysOn(
  cluster: RedisClusterHandle,
  node: RedisServer,
  keyPrefix: string,
  label: string,
  n: number,
): string[] {
  const keys = redisJtiStoreKeys({ keyPrefix, cluster: true });
  const found: string[] = [];
  for (let i = 0; found.length < n; i++) {
    const k = replayKey(key.jkt, `${label}-${i}`);
    if (cluster.nodeForKey(keys.recordKey(k)) === node) found.push(k);
  }
  return found;
}

/** `n` plain keys that live on `node`. */
function keysOnRaw(cluster: RedisClusterHandle, node: RedisServer, label: string, n: number) {
  const found: string[] = [];
  for (let i = 0; found.length < n; i++) {
    if (cluster.nodeForKey(`${label}-${i}`) === node) found.push(`${label}-${i}`);
  }
  return found;
}
