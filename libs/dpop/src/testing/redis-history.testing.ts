import { randomBytes } from 'node:crypto';
import { DPOP_DEFAULTS } from '../options/dpop.constants.js';
import {
  defaultHistoryKey,
  formatMarker,
  historyMarkerKeys,
  NO_LOSS_AT,
} from '../stores/redis/replay-history.marker.js';
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
  set(key: string, value: string): Promise<unknown>;
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
  const marker = formatMarker(
    randomBytes(24).toString('base64url'),
    serversSignature(states as RedisServerState[]),
    NO_LOSS_AT,
  );
  await Promise.all(
    historyMarkerKeys(historyKey, client.isCluster === true).map((key) => client.set(key, marker)),
  );
}
