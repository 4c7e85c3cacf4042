/**
 * The Redis replay store when Redis goes away and comes back, under a steady load of valid
 * requests: it must fail closed (503 `dpop-store-unavailable`, never a proof let through
 * unchecked, never a 500), keep the app alive, and recover on its own once Redis is back, with
 * proofs still single-use afterwards.
 *
 * Everything runs against private redis-server processes that the tests stop and start; the
 * shared Redis on 6379 is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { RedisJtiStore } from 'nest-dpop';
import { redisJtiStoreKeys, replayKey, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  sleep,
  startCluster,
  startRedisServer,
  stopAllRedisServers,
  type RedisClusterHandle,
  type RedisServer,
} from '../support/redis-servers.js';
import {
  debugReport,
  expectReplay,
  isStoreUnavailable,
  isUseNonce,
  jtiOf,
  Load,
  postItems,
  summary,
  tally,
  untilServing,
  type Outcome,
} from './redis-e2e.helpers.js';

/** RedisJtiStore's default `timeoutMs`: no request may be held longer than this (plus slack). */
const STORE_TIMEOUT_MS = 2000;

let key: TestKey;
const apps: INestApplication[] = [];
const clients: (Redis | Cluster)[] = [];
/** Anything that escaped as an unhandled rejection or exception while a test ran. */
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);

beforeAll(async () => {
  key = await makeKey('EdDSA');
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});

afterAll(async () => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  try {
    await Promise.allSettled(apps.map((app) => app.close()));
    for (const client of clients) client.disconnect();
  } finally {
    await stopAllRedisServers();
  }
});

/** A client that the test owns and cleans up; its `error` events are collected, not logged. */
function track<T extends Redis | Cluster>(client: T, errors: string[] = []): T {
  clients.push(client);
  client.on('error', (error: Error) => errors.push(error.message));
  return client;
}

async function ready(client: Redis | Cluster, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.status !== 'ready') {
    if (Date.now() > deadline)
      throw new Error(`client not ready in ${timeoutMs} ms (status ${client.status})`);
    await sleep(10);
  }
}

async function app(client: Redis | Cluster, keyPrefix: string): Promise<string> {
  // A fresh redis-server has no history marker, which counts as a loss: these tests are about
  // faults that come later, so they start from an intact history.
  if (client.status === 'ready') await seedRedisJtiStoreHistory(client, { keyPrefix });
  const started = await startGuardApp({
    clockSkew: 1,
    store: new RedisJtiStore(client, { keyPrefix, clockSkew: 1 }),
  });
  apps.push(started.app);
  if (client.status === 'ready') await untilServing(started.base, key);
  return started.base;
}

/** `GET /public` (not guarded): the app process is alive and serving. */
async function alive(base: string): Promise<number> {
  return (await fetch(`${base}/public`)).status;
}

/** Asserts the shape every outcome of a fault run must have: 200, or the 503 problem; nothing else. */
function expectOnlyAcceptedOrUnavailable(outcomes: readonly Outcome[]): void {
  const other = outcomes.filter((o) => o.status !== 200 && !isStoreUnavailable(o));
  expect(
    other.map((o) => ({
      phase: o.phase,
      status: o.status,
      code: o.code,
      error: o.error,
      body: o.body,
    })),
  ).toEqual([]);
}

/**
 * Replays every proof in `outcomes` (sequentially) and asserts each is refused: as a replay, or,
 * within one window of a Redis restart, with 503 because the store lost (or may have lost) its
 * history and cannot tell (see RedisJtiStore). Never accepted.
 */
async function expectAllReplaysRefused(outcomes: readonly Outcome[]): Promise<void> {
  const replies = [];
  for (const o of outcomes) replies.push(await postItems(o.target, o.proof));
  for (const reply of replies) {
    // A proof that may predate a loss: refused until it comes back with the store's nonce.
    if (reply.status === 401 && reply.body?.code === 'ERR_DPOP_USE_NONCE') {
      expect(isUseNonce(reply)).toBe(true);
    } else if (reply.status === 503) {
      expect(
        isStoreUnavailable({
          ...reply,
          contentType: reply.headers.get('content-type'),
          retryAfter: reply.headers.get('retry-after'),
        }),
      ).toBe(true);
    } else expectReplay(reply);
  }
}

/**
 * The moment the store was back: the end of the first request after the restart that was
 * accepted (optionally among those matching `filter`). From then on every request must pass.
 */
function recovery(
  outcomes: readonly Outcome[],
  filter: (o: Outcome) => boolean = () => true,
): Outcome {
  const accepted = outcomes.filter((o) => o.phase === 'up' && o.status === 200 && filter(o));
  expect(accepted.length).toBeGreaterThan(0);
  return accepted.reduce((first, o) => (o.endedAt < first.endedAt ? o : first));
}

describe('one redis-server that stops under load and comes back', () => {
  it.each([
    ['the default offline queue', {}],
    ['enableOfflineQueue: false', { enableOfflineQueue: false }],
  ] as [string, RedisOptions][])(
    'fails closed while it is down and recovers without an app restart (%s)',
    async (_name, extra) => {
      const server = await startRedisServer();
      const errors: string[] = [];
      // The recommended client settings: reconnect quickly, give up on a command after one retry.
      const client = track(
        new Redis({
          host: server.host,
          port: server.port,
          retryStrategy: () => 100,
          maxRetriesPerRequest: 1,
          ...extra,
        }),
        errors,
      );
      await ready(client);
      const base = await app(client, `test:faults:single:${randomUUID()}:`);
      const load = new Load({
        key,
        target: () => base,
        concurrency: 4,
        maxRequests: 800,
        intervalMs: 20,
      });
      try {
        await load.until('20 accepted requests', () => load.count((o) => o.status === 200) >= 20);

        load.phase = 'stopping';
        await server.stop();
        const downAt = Date.now();
        load.phase = 'down';
        await load.until(
          '40 requests while Redis is down',
          () => load.count((o) => o.phase === 'down') >= 40 && Date.now() - downAt >= 600,
        );
        expect(await alive(base)).toBe(200);
        expect(client.status).not.toBe('ready');

        load.phase = 'starting';
        await server.start();
        load.phase = 'up';
        await load.until(
          '20 accepted requests after the restart',
          () => load.count((o) => o.phase === 'up' && o.status === 200) >= 20,
        );
      } finally {
        await load.stop();
      }
      const outcomes = load.outcomes;
      debugReport(`single, ${_name}`, outcomes);

      expectOnlyAcceptedOrUnavailable(outcomes);
      // Before the outage, once the store has accepted a first proof, everything passes. (While
      // the app's first history check is still in flight on a loaded machine, a proof may get a
      // fail-closed 503: that warm-up is not what this test is about.)
      const before = outcomes.filter((o) => o.phase === 'before');
      const firstAccepted = Math.min(
        ...before.filter((o) => o.status === 200).map((o) => o.endedAt),
      );
      expect(
        tally(
          before.filter((o) => o.startedAt > firstAccepted),
          (o) => `${o.status}`,
        ),
      ).toEqual({
        '200': expect.any(Number),
      });
      // Every request sent while Redis was down was refused with 503, and promptly.
      const down = outcomes.filter((o) => o.phase === 'down');
      expect(down.length).toBeGreaterThanOrEqual(40);
      expect(tally(down)).toEqual({ [`down 503 ERR_DPOP_STORE_UNAVAILABLE`]: down.length });
      expect(Math.max(...down.map((o) => o.endedAt - o.startedAt))).toBeLessThan(
        STORE_TIMEOUT_MS + 1000,
      );

      // Back within a few seconds, and from then on everything passes.
      const upAt = outcomes.find((o) => o.phase === 'up')!.startedAt;
      const first = recovery(outcomes);
      expect(first.endedAt - upAt).toBeLessThan(5000);
      const after = outcomes.filter((o) => o.startedAt > first.endedAt);
      expect(after.length).toBeGreaterThanOrEqual(10);
      expect(tally(after, (o) => `${o.status}`)).toEqual({ '200': after.length });

      // What was accepted after the restart is recorded: each proof is still single-use.
      await expectAllReplaysRefused(
        outcomes.filter((o) => o.status === 200 && (o.phase === 'up' || o.phase === 'starting')),
      );

      // The client did see the outage (and reconnected by itself), and nothing escaped.
      expect(errors.some((message) => /ECONNREFUSED/.test(message))).toBe(true);
      expect(escaped).toEqual([]);
      expect(await alive(base)).toBe(200);
    },
    30_000,
  );

  /**
   * A jti lives only as long as Redis keeps it. Without persistence a restart forgets every jti;
   * the store notices (the epoch's script is gone) and refuses proofs issued before the loss.
   * With `appendfsync always` Redis remembers by itself: the record is still there, and even a
   * proof re-signed by the key holder with the same jti and the store's recovery nonce (which
   * passes the loss policy) is refused as a replay, by Redis' own memory.
   */
  it.each([
    [
      'without persistence (--save "" --appendonly no), forgets, but the store notices: the replay is refused',
      [],
      { stored: '0', replay: 'ERR_DPOP_USE_NONCE', resigned: 200 },
    ],
    [
      'with --appendonly yes --appendfsync always, remembers even after SIGKILL: the record is there, the same jti is a replay',
      ['--appendonly', 'yes', '--appendfsync', 'always'],
      { stored: '1', replay: 'ERR_DPOP_USE_NONCE', resigned: 401 },
    ],
  ] as [string, string[], { stored: string; replay: string; resigned: number }][])(
    'a restarted Redis %s',
    async (_name, args, expected) => {
      const server = await startRedisServer({ args });
      const client = track(
        new Redis({
          host: server.host,
          port: server.port,
          retryStrategy: () => 50,
          maxRetriesPerRequest: 1,
        }),
      );
      await ready(client);
      const keyPrefix = 'test:faults:persistence:';
      const base = await app(client, keyPrefix);
      const proof = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
      expect(summary(await postItems(base, proof))).toEqual({ status: 200, code: undefined });

      await server.stop('SIGKILL');
      await server.start();
      await ready(client);
      const stored = redisJtiStoreKeys({ keyPrefix }).recordKey(replayKey(key.jkt, jtiOf(proof)));
      const present = await server.command('EXISTS', stored);
      const replay = await postItems(base, proof);
      const nonce = replay.headers.get('dpop-nonce');
      const resigned = await makeProof(key, {
        htm: 'POST',
        htu: `${base}/items`,
        claims: { jti: jtiOf(proof), ...(nonce !== null && { nonce }) },
      });
      const again = await postItems(base, resigned);
      expect({
        stored: present,
        replay: replay.body?.code,
        resigned: again.status,
      }).toEqual(expected);
      if (expected.resigned === 401) expectReplay(again);
    },
  );
});

describe('a 3-node Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  const keyPrefix = `test:faults:cluster:${process.pid}:`;

  beforeAll(async () => {
    cluster = await startCluster(3);
  }, 20_000);

  /** A fresh jti whose key lives on `node` (when `onNode`) or on another node (when not). */
  function jtiFor(node: RedisServer, onNode: boolean): string {
    for (;;) {
      const jti = randomUUID();
      // The store's key is the replay key of (jkt, jti), not the jti itself, with its first
      // character as hash tag on a Cluster (next to the marker that guards it).
      const stored = replayKey(key.jkt, jti);
      const where = redisJtiStoreKeys({ keyPrefix, cluster: true }).recordKey(stored);
      if ((cluster.nodeForKey(where) === node) === onNode) return jti;
    }
  }

  it('with one node stopped: its slots get 503, never 200; the other slots go on; all pass once it is back', async () => {
    const victim = cluster.nodes[1]!;
    const client = track(
      new Cluster([...cluster.startupNodes], {
        clusterRetryStrategy: () => 100,
        redisOptions: { maxRetriesPerRequest: 1 },
      }),
    );
    await ready(client);
    const base = await app(client, keyPrefix);
    // Even requests carry a jti that hashes to the victim's slots, odd ones to the other nodes.
    const load = new Load({
      key,
      target: () => base,
      jti: (seq) =>
        seq % 2 === 0
          ? { jti: jtiFor(victim, true), label: 'victim' }
          : { jti: jtiFor(victim, false), label: 'other' },
      concurrency: 6,
      maxRequests: 800,
      intervalMs: 20,
    });
    const done = (phase: string, label: string, n: number, status?: number) => () =>
      load.count(
        (o) =>
          o.phase === phase && o.label === label && (status === undefined || o.status === status),
      ) >= n;
    let statusWhileNodeDown: string | undefined;
    let outageMs = 0;
    try {
      await load.until(
        '10 accepted on each side',
        () => done('before', 'victim', 10)() && done('before', 'other', 10)(),
      );

      load.phase = 'stopping';
      await victim.stop();
      const downAt = Date.now();
      load.phase = 'down';
      await load.until(
        '10 requests on each side while the node is down',
        () => done('down', 'victim', 10)() && done('down', 'other', 10)(),
      );
      // The Cluster client as a whole stays "ready" with one node gone: RedisJtiStore's status
      // fast-fail does not apply, these 503s come from ioredis giving up on the command.
      statusWhileNodeDown = client.status;
      expect(await alive(base)).toBe(200);

      load.phase = 'starting';
      outageMs = Date.now() - downAt;
      await victim.start();
      load.phase = 'up';
      await load.until('10 accepted on the restarted node', done('up', 'victim', 10, 200), 15_000);
      const first = recovery(load.outcomes, (o) => o.label === 'victim');
      await load.until(
        '10 more on each side after recovery',
        () =>
          load.count((o) => o.startedAt > first.endedAt && o.label === 'victim') >= 10 &&
          load.count((o) => o.startedAt > first.endedAt && o.label === 'other') >= 10,
      );
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes;
    debugReport('cluster, one node stopped', outcomes);

    expectOnlyAcceptedOrUnavailable(outcomes);
    expect(statusWhileNodeDown).toBe('ready');
    expect(
      tally(
        outcomes.filter((o) => o.phase === 'before'),
        (o) => `${o.status}`,
      ),
    ).toEqual({ '200': expect.any(Number) });

    // While the node was down: every request for its slots refused with 503, within the store's
    // timeout; every other request accepted. (Holds while the outage is shorter than
    // cluster-node-timeout, 15 s by default: after that the other masters mark the node FAIL and,
    // with cluster-require-full-coverage yes, refuse every slot with CLUSTERDOWN, i.e. all 503.)
    expect(outageMs).toBeLessThan(10_000);
    const down = outcomes.filter((o) => o.phase === 'down');
    expect(
      tally(down, (o) =>
        `${o.label} ${o.status} ${typeof o.code === 'string' ? o.code : ''}`.trim(),
      ),
    ).toEqual({
      'victim 503 ERR_DPOP_STORE_UNAVAILABLE': down.filter((o) => o.label === 'victim').length,
      'other 200': down.filter((o) => o.label === 'other').length,
    });
    expect(Math.max(...down.map((o) => o.endedAt - o.startedAt))).toBeLessThan(
      STORE_TIMEOUT_MS + 1000,
    );

    // Once the node was back, everything passes.
    const upAt = outcomes.find((o) => o.phase === 'up')!.startedAt;
    const first = recovery(outcomes, (o) => o.label === 'victim');
    expect(first.endedAt - upAt).toBeLessThan(10_000);
    const after = outcomes.filter((o) => o.startedAt > first.endedAt);
    expect(tally(after, (o) => `${o.label} ${o.status}`)).toEqual({
      'victim 200': after.filter((o) => o.label === 'victim').length,
      'other 200': after.filter((o) => o.label === 'other').length,
    });

    // Single use, checked on every proof accepted since the outage began. (Those accepted on the
    // victim before it stopped are gone with its memory: see the persistence test above.)
    await expectAllReplaysRefused(
      outcomes.filter(
        (o) =>
          o.status === 200 &&
          !(o.label === 'victim' && (o.phase === 'before' || o.phase === 'stopping')),
      ),
    );
    expect(escaped).toEqual([]);
  }, 45_000);

  it('with every node stopped: the client leaves "ready", so requests are refused at once; then it recovers', async () => {
    const errors: string[] = [];
    const client = track(
      new Cluster([...cluster.startupNodes], {
        clusterRetryStrategy: () => 100,
        redisOptions: { maxRetriesPerRequest: 1 },
      }),
      errors,
    );
    await ready(client);
    const base = await app(client, keyPrefix);
    const load = new Load({
      key,
      target: () => base,
      concurrency: 4,
      maxRequests: 800,
      intervalMs: 50,
    });
    try {
      await load.until('20 accepted requests', () => load.count((o) => o.status === 200) >= 20);
      load.phase = 'stopping';
      await Promise.all(cluster.nodes.map((node) => node.stop()));
      // The client notices when its last node connection ends; from then on it is not "ready".
      const deadline = Date.now() + 2000;
      while (client.status === 'ready' && Date.now() < deadline) await sleep(5);
      expect(client.status).not.toBe('ready');
      const downAt = Date.now();
      load.phase = 'down';
      await load.until(
        '40 requests while the cluster is down',
        () => load.count((o) => o.phase === 'down') >= 40 && Date.now() - downAt >= 600,
      );
      load.phase = 'starting';
      await Promise.all(cluster.nodes.map((node) => node.start()));
      load.phase = 'up';
      await load.until(
        '20 accepted requests after the restart',
        () => load.count((o) => o.phase === 'up' && o.status === 200) >= 20,
        15_000,
      );
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes;
    debugReport('cluster, all nodes stopped', outcomes);

    expectOnlyAcceptedOrUnavailable(outcomes);
    const down = outcomes.filter((o) => o.phase === 'down');
    expect(tally(down)).toEqual({ 'down 503 ERR_DPOP_STORE_UNAVAILABLE': down.length });
    // Refused by the status check without waiting on Redis: quick.
    expect(Math.max(...down.map((o) => o.endedAt - o.startedAt))).toBeLessThan(500);

    const upAt = outcomes.find((o) => o.phase === 'up')!.startedAt;
    const first = recovery(outcomes);
    expect(first.endedAt - upAt).toBeLessThan(10_000);
    const after = outcomes.filter((o) => o.startedAt > first.endedAt);
    expect(tally(after, (o) => `${o.status}`)).toEqual({ '200': after.length });
    await expectAllReplaysRefused(
      outcomes.filter((o) => o.status === 200 && (o.phase === 'up' || o.phase === 'starting')),
    );
    expect(escaped).toEqual([]);
  }, 45_000);
});
