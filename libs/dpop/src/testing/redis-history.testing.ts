import { DPOP_DEFAULTS } from '../options/dpop.constants.js';
import {
  bucketIndex,
  bucketLayout,
  defaultHistoryKey,
  historyMarkerKeys,
  NO_LOSS_AT,
  nonceSecretKey,
  recordKey,
} from '../stores/redis/replay-history.marker.js';
import { beginEpoch, newEpochId } from '../stores/redis/redis-record.script.js';
import {
  parseRedisInfo,
  serversSignature,
  type RedisServerState,
} from '../stores/redis/redis-server.info.js';

/** The part of an ioredis `Redis` or `Cluster` that {@link seedRedisJtiStoreHistory} uses. */
export interface SeedableRedisClient {
  readonly isCluster?: boolean;
  /** ioredis' connection state; the seed waits for `ready` (a client may have no offline queue). */
  readonly status?: string;
  once?(event: 'ready', listener: () => void): unknown;
  connect?(): Promise<unknown>;
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** `INFO` of a single Redis (the markers name the servers' state they were written under). */
  info?(): Promise<string>;
  /** A Cluster's masters. */
  nodes?(role: 'master'): { info(): Promise<string> }[];
}

/**
 * FOR TESTS ONLY. Writes the history markers of a `RedisJtiStore` (same `keyPrefix` or
 * `historyKey` as the store's) as if its history had been intact for ever, so that a store on
 * a fresh key prefix or a fresh Redis accepts proofs at once instead of treating the missing
 * markers as a loss of history (which it must do in production: a first deploy looks exactly
 * like a flush, and proofs then need one `use_dpop_nonce` round trip for one acceptance window).
 * Call it before the store's first check, i.e. before the store is made or its client connects.
 *
 * Never call it on a production Redis: it tells every store there that no jti was ever lost.
 */
export async function seedRedisJtiStoreHistory(
  client: SeedableRedisClient,
  options: { keyPrefix?: string; historyKey?: string } = {},
): Promise<void> {
  const historyKey =
    options.historyKey ?? defaultHistoryKey(options.keyPrefix ?? DPOP_DEFAULTS.redisKeyPrefix);
  if (client.status === 'wait') await client.connect?.();
  else if (client.status !== undefined && client.status !== 'ready' && client.once !== undefined) {
    await new Promise<void>((resolve) => client.once!('ready', resolve));
  }
  const nodes = client.isCluster === true ? (client.nodes?.('master') ?? []) : [client];
  const states = (await Promise.all(nodes.map(async (node) => (await node.info?.()) ?? ''))).map(
    parseRedisInfo,
  );
  if (states.length === 0 || states.some((state) => state === undefined)) {
    throw new Error('seedRedisJtiStoreHistory: INFO of every server is needed');
  }
  const signature = serversSignature(states as RedisServerState[]);
  const id = newEpochId();
  // Through the epoch's own script, as the store begins an epoch: the server then has the
  // script, which the store takes as proof that it has not restarted since.
  await Promise.all(
    historyMarkerKeys(historyKey, client.isCluster === true).map(async (key) => {
      const current = (await client.get(key)) ?? '';
      const begun = await beginEpoch(client, id, key, current, signature, NO_LOSS_AT);
      if (begun.flag !== 1) throw new Error(`seedRedisJtiStoreHistory: ${key} changed meanwhile`);
    }),
  );
}

/** Where a `RedisJtiStore` keeps things, as {@link redisJtiStoreKeys} tells. */
export interface RedisJtiStoreKeys {
  /** The history key (`historyKey`, default `<keyPrefix>#epoch`). */
  readonly historyKey: string;
  /** Every history marker: one on a single Redis, 64 on a Cluster. */
  readonly markerKeys: readonly string[];
  /** Where the recovery nonces' secret is kept. */
  readonly nonceSecretKey: string;
  /** The Redis key a replay key is recorded under (on a Cluster, with its hash tag). */
  recordKey(replayKey: string): string;
  /** The marker that guards a replay key. */
  markerKeyOf(replayKey: string): string;
}

/**
 * FOR TESTS. The key layout of a `RedisJtiStore` with these options, from the one module the
 * store itself reads it from: tests that look at Redis directly never write it out themselves.
 */
export function redisJtiStoreKeys(
  options: { keyPrefix?: string; historyKey?: string; cluster?: boolean } = {},
): RedisJtiStoreKeys {
  const keyPrefix = options.keyPrefix ?? DPOP_DEFAULTS.redisKeyPrefix;
  const historyKey = options.historyKey ?? defaultHistoryKey(keyPrefix);
  const buckets = bucketLayout(historyKey, options.cluster === true);
  const bucketOf = (replayKey: string) => buckets[bucketIndex(replayKey, buckets.length)]!;
  return {
    historyKey,
    markerKeys: buckets.map((bucket) => bucket.markerKey),
    nonceSecretKey: nonceSecretKey(historyKey),
    recordKey: (replayKey) => recordKey(keyPrefix, bucketOf(replayKey), replayKey),
    markerKeyOf: (replayKey) => bucketOf(replayKey).markerKey,
  };
}
