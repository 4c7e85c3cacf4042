/** A server connection as {@link RedisJtiStore} reads it (an ioredis `Redis`, or a Cluster node). */
export interface RedisJtiStoreNode {
  readonly options: { host?: string; port?: number };
  /** `INFO` with its default sections (server, memory, stats: run_id, maxmemory, evictions). */
  info(): Promise<string>;
}

/**
 * What {@link RedisJtiStore} uses of its client: an ioredis `Redis` or `Cluster` fits. Written out
 * here (not imported from ioredis) so that the package's types need no ioredis installed.
 */
export interface RedisJtiStoreClient {
  /** ioredis' connection state: `ready` when commands can be sent, `wait` for a lazy client. */
  readonly status: string;
  /** `true` on an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  connect(): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ttlMs: number, nx: 'NX'): Promise<'OK' | null>;
  set(key: string, value: string, nx: 'NX'): Promise<'OK' | null>;
  set(key: string, value: string): Promise<'OK' | null>;
  get(key: string): Promise<string | null>;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  on(event: 'ready' | 'close' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'close' | 'end', listener: () => void): unknown;
  /** A Cluster's masters. */
  nodes?(role: 'master'): RedisJtiStoreNode[];
}

/** Options of {@link RedisJtiStore}. */
export interface RedisJtiStoreOptions {
  /** Prefix of every key. Default `dpop:jti:` (an ARCP server passes `arcp:dpop:jti:`). */
  keyPrefix?: string;
  /**
   * Longest wait for Redis, in milliseconds, before the request is refused with 503.
   * Default 2000. Set `0` to rely on the client's own `commandTimeout`.
   */
  timeoutMs?: number;
  /**
   * The history marker: a key without expiry whose value names the store's current epoch. Shared
   * by every instance on the same Redis. Default `<keyPrefix>#history` (no stored jti starts with
   * `#` and is that short). With a `Cluster` there is one per hash slot group:
   * `<historyKey>{<c>}`, next to the keys it guards. See `docs/replay-safety.md`.
   */
  historyKey?: string;
  /**
   * The module's `clockSkew`, in seconds (default 60, as the module's). After a detected loss a
   * proof without a recovery nonce must have an `iat` later than the detection time plus this:
   * a proof used just before the loss may carry an `iat` up to `clockSkew` in the future.
   */
  clockSkew?: number;
  /**
   * After a detected loss, answer a proof that may predate it with `use_dpop_nonce` and a
   * nonce handed out now (RFC 9449 §8), and accept proofs that carry such a nonce whatever
   * their `iat`: a conforming client recovers in one round trip. Default `true`. With `false`
   * those proofs get 503 with the real wait in `Retry-After` (about `clockSkew`).
   */
  recoveryNonces?: boolean;
  /**
   * How often the servers are checked in the background, in milliseconds (default 1000):
   * evictions (`evicted_keys`), an eviction policy that may drop live records
   * (`maxmemory-policy`), and a new `run_id`. Restarts, failovers and flushes are seen by the
   * very next proof anyway (see `docs/replay-safety.md`).
   */
  historyCheckIntervalMs?: number;
  /**
   * Longest wait at start-up (Nest's `onApplicationBootstrap`), in milliseconds, for the client
   * to be `ready` and a first history check to finish. Default 10000. The application does not
   * start when the time runs out, or when Redis may evict live records: every DPoP request would
   * get 503 otherwise. A `lazyConnect` client is connected.
   */
  startupTimeoutMs?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}
