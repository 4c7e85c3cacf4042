import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Helpers of `RedisJtiStore`'s history check: what a server's `INFO` says, and the recovery
 * nonces it hands out after a loss. Kept apart so that the store's own file is its protocol.
 * @internal
 */

/** The 64 characters a replay key starts with: one marker (and hash tag) each on a Cluster. */
export const BUCKET_TAGS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The marker keys of a store: one on a single Redis, one per hash tag on a Cluster. */
export function historyMarkerKeys(historyKey: string, cluster: boolean): string[] {
  return cluster ? [...BUCKET_TAGS].map((c) => `${historyKey}{${c}}`) : [historyKey];
}

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
 * How long a recovery nonce is accepted after it was handed out, in milliseconds: as long as a
 * module nonce lives at most (two windows of 60 s by default).
 */
export const RECOVERY_NONCE_MAX_AGE_MS = 120_000;

/**
 * A short digest of the servers' state that decides whether their history may be incomplete:
 * every `run_id` (a restart or failover changes it) and eviction count, sorted. Addresses are
 * left out, so that instances reaching Redis under other names agree.
 */
export function serversSignature(
  servers: Iterable<RedisServerState> | ReadonlyMap<string, RedisServerState>,
): string {
  const states =
    servers instanceof Map ? [...servers.values()] : [...(servers as Iterable<RedisServerState>)];
  const state = states
    .map((server) => `${server.runId}:${server.evictedKeys}`)
    .sort()
    .join(',');
  return createHash('sha256').update(state).digest('base64url').slice(0, 12);
}

/** `<mint time in ms, base 36>.<22 characters of HMAC-SHA256>`: only NQCHARs (RFC 9449 §8). */
const RECOVERY_NONCE = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/;

/**
 * Server nonces minted by a replay store after it lost its history. A nonce names the time it
 * was handed out and is MACed with a secret every instance reads from Redis, so any instance
 * can tell that a proof carrying it was made after that time, hence after the loss, and cannot
 * have been used before it.
 */
export class RecoveryNonces {
  constructor(private readonly secret: Uint8Array) {}

  /** A nonce handed out at `mintedAt` (ms since the epoch). */
  mint(mintedAt: number): string {
    const time = Math.floor(mintedAt).toString(36);
    return `${time}.${this.mac(time)}`;
  }

  /**
   * When `nonce` was handed out (ms), if it is one of ours, not from the future and not older
   * than {@link RECOVERY_NONCE_MAX_AGE_MS}; else `undefined`.
   */
  mintedAt(nonce: string, now: number): number | undefined {
    const match = RECOVERY_NONCE.exec(nonce);
    if (match === null) return undefined;
    const at = parseInt(match[1]!, 36);
    if (!(at <= now + 1000 && now - at <= RECOVERY_NONCE_MAX_AGE_MS)) return undefined;
    const expected = Buffer.from(this.mac(match[1]!), 'latin1');
    return timingSafeEqual(expected, Buffer.from(match[2]!, 'latin1')) ? at : undefined;
  }

  private mac(time: string): string {
    return createHmac('sha256', this.secret)
      .update(`nest-dpop:recovery-nonce:${time}`)
      .digest('base64url')
      .slice(0, 22);
  }
}
