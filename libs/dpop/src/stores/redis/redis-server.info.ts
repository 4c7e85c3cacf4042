import { createHash } from 'node:crypto';

/**
 * What `RedisJtiStore` reads from a server's `INFO`, and what it concludes: whether the server
 * may evict live records, and a digest of the servers' state. Pure functions.
 * @internal
 */

/** What the history check reads from one server's `INFO`. */
export interface RedisServerState {
  /** Changes with every restart, and on a failover (another process). */
  readonly runId: string;
  /** Keys evicted since the server started (or since `CONFIG RESETSTAT`). */
  readonly evictedKeys: number;
  /** `maxmemory` in bytes; 0 = no limit. */
  readonly maxmemory: number;
  readonly policy: string;
}

/** Reads `INFO` (default sections: server, memory, stats…); `undefined` when it lacks `run_id`. */
export function parseRedisInfo(info: string): RedisServerState | undefined {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:([^\\r\\n]*)`, 'm').exec(info)?.[1];
  const runId = field('run_id');
  if (runId === undefined || !/^[0-9a-f]+$/.test(runId)) return undefined;
  return {
    runId,
    evictedKeys: Number(field('evicted_keys') ?? 0) || 0,
    maxmemory: Number(field('maxmemory') ?? 0) || 0,
    policy: field('maxmemory_policy') ?? 'noeviction',
  };
}

/**
 * Why a server may drop live replay records on its own, or `undefined` when it cannot: any
 * eviction policy but `noeviction` under a `maxmemory` limit may evict a jti that is still
 * inside its acceptance window, and its proof could then be replayed. (With `noeviction` a full
 * Redis refuses writes: every proof gets 503, nothing is forgotten.)
 */
export function evictionHazard(address: string, server: RedisServerState): string | undefined {
  if (server.maxmemory === 0 || server.policy === 'noeviction') return undefined;
  return (
    `Redis at ${address} may evict DPoP replay records (maxmemory ${server.maxmemory}, ` +
    `maxmemory-policy ${server.policy}), which would let a used proof be replayed: ` +
    `set maxmemory-policy noeviction (or maxmemory 0) on every server RedisJtiStore uses`
  );
}

/**
 * A short digest of the servers' state that decides whether their history may be incomplete:
 * every `run_id` (a restart or failover changes it) and eviction count, sorted. Addresses are
 * left out, so that instances reaching Redis under other names agree.
 */
export function serversSignature(servers: Iterable<RedisServerState>): string {
  const state = [...servers]
    .map((server) => `${server.runId}:${server.evictedKeys}`)
    .sort()
    .join(',');
  return createHash('sha256').update(state).digest('base64url').slice(0, 12);
}
