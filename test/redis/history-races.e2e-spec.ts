/**
 * The edges of RedisJtiStore's loss detection found by an outside review: each scenario let a
 * proof recorded before a loss be accepted again. Private redis-server processes only.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { RedisJtiStore, type JtiStoreProofInfo } from 'nest-dpop';
import { redisJtiStoreKeys, replayKey, seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { makeKey, type TestKey } from '../support/proofs.js';
import { closeRedisFixtures, ready, redisClient, redisStore } from '../support/redis-fixtures.js';
import { sleep, startRedisServer, type RedisServer } from '../support/redis-servers.js';

let key: TestKey;

beforeAll(async () => {
  key = await makeKey('EdDSA');
});

afterAll(closeRedisFixtures);

const connect = (server: RedisServer, options: RedisOptions = {}): Promise<Redis> =>
  ready(redisClient(server, options));
const store = redisStore;

const WINDOW_MS = 181_000;
const proof = (jti: string, iat = Math.floor(Date.now() / 1000)): [string, JtiStoreProofInfo] => [
  replayKey(key.jkt, jti),
  { iat },
];

/** Resolves what a replay of the proof gets: `true` (accepted!), `false` (replay) or the error code. */
async function replay(s: RedisJtiStore, [k, info]: [string, JtiStoreProofInfo]): Promise<unknown> {
  return s.recordIfNew(k, WINDOW_MS, info).catch((error: { code?: string }) => error.code);
}

describe('loss detection races', () => {
  it('a flush while a check is in flight: the replay waits for a check that starts after it', async () => {
    const server = await startRedisServer();
    const redis = await connect(server);
    const keyPrefix = `test:races:${process.pid}:a:`;
    await seedRedisJtiStoreHistory(redis, { keyPrefix });
    // INFO answers slowly (a check stays open after it read the markers); GETs do not.
    let delayMs = 0;
    const slow = new Proxy(redis, {
      get(target, property) {
        if (property === 'info') return () => sleep(delayMs).then(() => target.info());
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const s = store(slow, { keyPrefix, historyCheckIntervalMs: 50 });
    const used = proof('race-a');
    await expect(s.recordIfNew(used[0], WINDOW_MS, used[1])).resolves.toBe(true);
    delayMs = 400;
    await sleep(150); // a periodic check has read the marker and waits for INFO
    await server.command('FLUSHALL');
    expect(await replay(s, used)).toBe('ERR_DPOP_USE_NONCE');
  });

  it('a replay sent before a restart and resent to the restarted server (snapshot without it) is refused', async () => {
    const server = await startRedisServer();
    const redis = await connect(server);
    const keyPrefix = `test:races:${process.pid}:b:`;
    await seedRedisJtiStoreHistory(redis, { keyPrefix });
    const s = store(redis, { keyPrefix, timeoutMs: 15_000 });
    await expect(
      s.recordIfNew(replayKey(key.jkt, 'warm-up'), WINDOW_MS, proof('warm-up')[1]),
    ).resolves.toBe(true);
    // The snapshot has the marker; the proof used next is not in it.
    await server.command('SAVE');
    const used = proof('race-b');
    await expect(s.recordIfNew(used[0], WINDOW_MS, used[1])).resolves.toBe(true);
    // The replay's command waits on the paused server, which then dies and comes back from the
    // snapshot; ioredis resends the command over the new connection.
    await server.command('CLIENT', 'PAUSE', '5000', 'WRITE');
    const pending = replay(s, used);
    await sleep(100);
    await server.stop('SIGKILL');
    await server.start();
    expect(await server.command('EXISTS', redisJtiStoreKeys({ keyPrefix }).historyKey)).toBe('1');
    // Judged by the server that answered (it lacks the epoch's script): a proof that may
    // predate the loss, refused with a nonce. Not merely "not accepted": any error would do that.
    expect(await pending).toBe('ERR_DPOP_USE_NONCE');
  });

  it('a store that starts after a restart nobody saw does not trust the marker that survived it', async () => {
    const server = await startRedisServer();
    const keyPrefix = `test:races:${process.pid}:c:`;
    const first = await connect(server);
    await seedRedisJtiStoreHistory(first, { keyPrefix });
    const before = store(first, { keyPrefix });
    const used = proof('race-c');
    await expect(before.recordIfNew(used[0], WINDOW_MS, used[1])).resolves.toBe(true);
    // The marker is in the snapshot, the jti is not; then the host reboots.
    await server.command('DEL', keyPrefix + used[0]);
    await server.command('SAVE');
    await server.stop();
    await server.start();
    const after = store(await connect(server), { keyPrefix });
    expect(await replay(after, used)).toBe('ERR_DPOP_USE_NONCE');
  });

  it("after a loss, a proof's iat is judged with the verifier's clock skew when it is larger than the store's", async () => {
    const server = await startRedisServer();
    const redis = await connect(server);
    const keyPrefix = `test:races:${process.pid}:d:`;
    await seedRedisJtiStoreHistory(redis, { keyPrefix });
    // The store keeps its default skew (60 s); the module accepts iat up to 300 s ahead.
    const s = store(redis, { keyPrefix });
    const ahead: [string, JtiStoreProofInfo] = [
      replayKey(key.jkt, 'race-d'),
      { iat: Math.floor(Date.now() / 1000) + 200, clockSkew: 300 },
    ];
    await expect(s.recordIfNew(ahead[0], WINDOW_MS, ahead[1])).resolves.toBe(true);
    await server.command('FLUSHALL');
    expect(await replay(s, ahead)).toBe('ERR_DPOP_USE_NONCE');
    expect(await replay(s, ahead)).toBe('ERR_DPOP_USE_NONCE');
  });

  it('refuses, on a Cluster, a key prefix or history key with a hash tag of its own', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(() => new RedisJtiStore(cluster, { keyPrefix: '{app}:dpop:' })).toThrow(
      /must not contain \{ or \}/,
    );
    expect(() => new RedisJtiStore(cluster, { historyKey: 'h{x}' })).toThrow(
      /must not contain \{ or \}/,
    );
    cluster.disconnect();
  });
});
