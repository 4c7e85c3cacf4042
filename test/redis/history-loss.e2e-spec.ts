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
import { redisJtiStoreKeys, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  sleep,
  startRedisServer,
  stopAllRedisServers,
  type RedisServer,
} from '../support/redis-servers.js';
import {
  debugReport,
  isUseNonce,
  Load,
  postItems,
  summary,
  untilServing,
} from './redis-e2e.helpers.js';

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

/** Resolves once the client can take commands (the store refuses, 503, until then). */
async function ready(redis: Redis): Promise<Redis> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

async function instance(server: RedisServer, prefix: string): Promise<string> {
  const redis = await ready(client(server));
  const store = new RedisJtiStore(redis, { keyPrefix: prefix, clockSkew: CLOCK_SKEW });
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
      expect([
        '401 ERR_DPOP_REPLAY',
        '401 ERR_DPOP_USE_NONCE',
        '503 ERR_DPOP_STORE_UNAVAILABLE',
      ]).toContain(`${r.status} ${String(r.code)}`);
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

  it('notices a flush without a reconnect on the very next proof, and a client recovers in one round trip', async () => {
    const server = await startRedisServer();
    const prefix = `test:history:${process.pid}:b:`;
    await seedRedisJtiStoreHistory(client(server), { keyPrefix: prefix });
    const base = await instance(server, prefix);
    const used = await makeProof(key, { htm: 'POST', htu: `${base}/items` });
    expect((await postItems(base, used)).status).toBe(200);
    await server.command('FLUSHALL');

    // The replay is the very next proof: refused, with a nonce handed out after the loss.
    const replay = await postItems(base, used);
    expect(isUseNonce(replay)).toBe(true);
    // A fresh proof without the nonce could be one made before the loss: the same answer.
    const plain = await postItems(
      base,
      await makeProof(key, { htm: 'POST', htu: `${base}/items` }),
    );
    expect(isUseNonce(plain)).toBe(true);
    // And when a fresh proof without it passes again: the loss plus the clock skew, rounded up.
    const wait = Number(plain.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(CLOCK_SKEW + 1);
    // With the nonce, at once: accepted, whatever its iat.
    const nonce = plain.headers.get('dpop-nonce')!;
    const retry = await makeProof(key, { htm: 'POST', htu: `${base}/items`, claims: { nonce } });
    expect(summary(await postItems(base, retry))).toEqual({ status: 200, code: undefined });
    // The retry is now in the new history; the old proof still cannot pass.
    expect(summary(await postItems(base, retry))).toEqual({ status: 401, code: 'ERR_DPOP_REPLAY' });
    expect(isUseNonce(await postItems(base, used))).toBe(true);
    // A nonce of another secret (or made up) does not help.
    const forged = await makeProof(key, {
      htm: 'POST',
      htu: `${base}/items`,
      claims: { nonce: `${Date.now().toString(36)}.AAAAAAAAAAAAAAAAAAAAAA` },
    });
    expect(isUseNonce(await postItems(base, forged))).toBe(true);
  });

  it('FLUSHDB, then an app start: the missing marker is a loss dated now, so a used proof stays refused', async () => {
    const server = await startRedisServer();
    const prefix = `test:history:${process.pid}:d:`;
    await seedRedisJtiStoreHistory(client(server), { keyPrefix: prefix });
    // Past the clock skew of the server's start: dating the loss at that start would accept it.
    await sleep(2500);
    const first = await instance(server, prefix);
    const used = await makeProof(key, { htm: 'POST', htu: `${first}/items` });
    expect((await postItems(first, used)).status).toBe(200);
    await apps.pop()!.close();
    await server.command('FLUSHDB');

    const started = new RedisJtiStore(await ready(client(server)), {
      keyPrefix: prefix,
      clockSkew: CLOCK_SKEW,
    });
    const { app, base } = await startGuardApp({ store: started, clockSkew: CLOCK_SKEW });
    apps.push(app);
    // Same proof, same URL origin path: only the port differs, so it is re-made for this app
    // with the same jti and iat: exactly the record the flush removed.
    const payload = JSON.parse(Buffer.from(used.split('.')[1]!, 'base64url').toString()) as {
      jti: string;
      iat: number;
    };
    const again = await makeProof(key, {
      htm: 'POST',
      htu: `${base}/items`,
      iat: payload.iat,
      claims: { jti: payload.jti },
    });
    expect(isUseNonce(await postItems(base, again))).toBe(true);
  });

  it('a client of the default settings gets 200 within 3 s of a restarted, empty Redis', async () => {
    const server = await startRedisServer();
    const prefix = `test:history:${process.pid}:e:`;
    const redis = await ready(client(server));
    await seedRedisJtiStoreHistory(redis, { keyPrefix: prefix });
    // Default clockSkew (60 s): without recovery nonces fresh proofs would wait a minute.
    const { app, base } = await startGuardApp({
      store: new RedisJtiStore(redis, { keyPrefix: prefix }),
    });
    apps.push(app);
    expect(
      (await postItems(base, await makeProof(key, { htm: 'POST', htu: `${base}/items` }))).status,
    ).toBe(200);
    await server.stop();
    await server.start();
    const restarted = Date.now();
    const statuses: string[] = [];
    let nonce: string | undefined;
    for (;;) {
      const proof = await makeProof(key, {
        htm: 'POST',
        htu: `${base}/items`,
        ...(nonce !== undefined && { claims: { nonce } }),
      });
      const reply = await postItems(base, proof);
      statuses.push(
        `${reply.status} ${typeof reply.body?.code === 'string' ? reply.body.code : ''}`.trim(),
      );
      if (reply.status === 200) break;
      if (Date.now() - restarted > 3000)
        throw new Error(`no 200 within 3 s: ${statuses.join(', ')}`);
      if (isUseNonce(reply)) nonce = reply.headers.get('dpop-nonce')!;
      else await sleep(Math.min(1000, 1000 * Number(reply.headers.get('retry-after') ?? 1)) / 10);
    }
    expect(Date.now() - restarted).toBeLessThan(3000);
    expect(statuses).toContain('401 ERR_DPOP_USE_NONCE');
  });

  it('two instances after a restart: one loss for both, and a nonce from one is accepted by the other', async () => {
    const server = await startRedisServer();
    const prefix = `test:history:${process.pid}:g:`;
    await seedRedisJtiStoreHistory(await ready(client(server)), { keyPrefix: prefix });
    const bases: string[] = [];
    for (let i = 0; i < 2; i++) {
      // B reconnects a second and a half after A: it notices the restart after A handed out
      // its nonce, and must join A's new epoch rather than begin one of its own.
      const redis = client(server);
      if (i === 1) redis.options.retryStrategy = () => 1500;
      // Default clock skew: only the recovery nonces make the instances serve at once.
      const store = new RedisJtiStore(await ready(redis), { keyPrefix: prefix });
      const { app, base } = await startGuardApp({ store });
      apps.push(app);
      bases.push(base);
    }
    const [a, b] = bases as [string, string];
    await server.stop();
    await server.start();
    // Both reconnect and check on their own; wait until each answers again.
    const nonceFrom = async (base: string): Promise<string> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const reply = await postItems(
          base,
          await makeProof(key, { htm: 'POST', htu: `${base}/items` }),
        );
        if (isUseNonce(reply)) return reply.headers.get('dpop-nonce')!;
        if (Date.now() > deadline) throw new Error(`${base}: ${JSON.stringify(summary(reply))}`);
        await sleep(50);
      }
    };
    const nonce = await nonceFrom(a);
    expect(
      summary(
        await postItems(
          a,
          await makeProof(key, { htm: 'POST', htu: `${a}/items`, claims: { nonce } }),
        ),
      ),
    ).toEqual({ status: 200, code: undefined });
    await nonceFrom(b);
    const withNonce = (base: string) =>
      makeProof(key, { htm: 'POST', htu: `${base}/items`, claims: { nonce } });
    expect(summary(await postItems(b, await withNonce(b)))).toEqual({
      status: 200,
      code: undefined,
    });
    // After both have run their periodic checks, the loss is still the one A's nonce follows.
    await sleep(2500);
    expect(summary(await postItems(a, await withNonce(a)))).toEqual({
      status: 200,
      code: undefined,
    });
    expect(summary(await postItems(b, await withNonce(b)))).toEqual({
      status: 200,
      code: undefined,
    });
  });

  it("with server nonces required, the store's recovery nonce stands in for the module's: still one round trip", async () => {
    const server = await startRedisServer();
    const store = new RedisJtiStore(await ready(client(server)), {
      keyPrefix: `test:history:${process.pid}:h:`,
    });
    const { app, base } = await startGuardApp({ store, nonce: true });
    apps.push(app);
    const send = async (nonce?: string) =>
      postItems(
        base,
        await makeProof(key, {
          htm: 'POST',
          htu: `${base}/items`,
          ...(nonce !== undefined && { claims: { nonce } }),
        }),
      );
    // No nonce at all: the module's own challenge.
    const first = await send();
    expect(isUseNonce(first)).toBe(true);
    // The module's nonce, but the store lost its history (a fresh prefix): the store's challenge.
    const second = await send(first.headers.get('dpop-nonce')!);
    expect(isUseNonce(second)).toBe(true);
    const recovery = second.headers.get('dpop-nonce')!;
    expect(recovery).not.toBe(first.headers.get('dpop-nonce'));
    // The recovery nonce passes both checks, and the answer hands out the module's nonce again.
    const third = await send(recovery);
    expect(summary(third)).toEqual({ status: 200, code: undefined });
    expect(third.headers.get('dpop-nonce')).toBe(first.headers.get('dpop-nonce'));
  });

  it('with recoveryNonces off, a proof that may predate the loss gets 503 with the real wait in Retry-After', async () => {
    const server = await startRedisServer();
    const prefix = `test:history:${process.pid}:f:`;
    const store = new RedisJtiStore(await ready(client(server)), {
      keyPrefix: prefix,
      recoveryNonces: false,
    });
    const { app, base } = await startGuardApp({ store });
    apps.push(app);
    // A fresh prefix: no marker, a loss dated now; the default skew is 60 s.
    const reply = await postItems(
      base,
      await makeProof(key, { htm: 'POST', htu: `${base}/items` }),
    );
    expect(summary(reply)).toEqual({ status: 503, code: 'ERR_DPOP_STORE_UNAVAILABLE' });
    const wait = Number(reply.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(55);
    expect(wait).toBeLessThanOrEqual(62);
    expect(reply.headers.get('dpop-nonce')).toBeNull();
  });

  it('refuses (503) while it cannot tell whether history was lost: before its first check, and after a reconnect until a check succeeds', async () => {
    const server = await startRedisServer();
    const keyPrefix = `test:history:${process.pid}:c:`;
    const redis = await ready(client(server));
    await seedRedisJtiStoreHistory(redis, { keyPrefix });
    // The connection works (SET, EVALSHA answer) but a history check cannot finish: INFO hangs.
    let infoHangs = true;
    const hanging = new Proxy(redis, {
      get(target, property) {
        if (property === 'info') {
          return () => (infoHangs ? new Promise<string>(() => undefined) : target.info());
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const store = new RedisJtiStore(hanging, { keyPrefix, timeoutMs: 300 });
    const keys = redisJtiStoreKeys({ keyPrefix });
    const iat = () => Math.floor(Date.now() / 1000);
    const attempt = (jti: string) =>
      store.recordIfNew(jti, 5_000, { iat: iat() }).then(String, (e: { code?: string }) => e.code);
    // Before the first check: refused, and nothing recorded.
    expect(await attempt('first')).toBe('ERR_DPOP_STORE_UNAVAILABLE');
    expect(await server.command('EXISTS', keys.recordKey('first'))).toBe('0');
    // Once a check succeeds: accepted.
    infoHangs = false;
    await store.checkHistory();
    expect(await attempt('known')).toBe('true');
    // The connection drops and comes back (another server may answer now) while checks hang:
    // refused, although the epoch's script would still answer.
    infoHangs = true;
    const back = new Promise((resolve) => redis.once('ready', resolve));
    redis.disconnect(true);
    await back;
    expect(await attempt('after-reconnect')).toBe('ERR_DPOP_STORE_UNAVAILABLE');
    expect(await server.command('EXISTS', keys.recordKey('after-reconnect'))).toBe('0');
    store.onModuleDestroy();
  });
});
