import { createHash, randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { JtiStoreUnavailableError } from './dpop.errors.js';
import { JtiStore } from './jti-store.interface.js';
import { DPOP_DEFAULTS } from './dpop.constants.js';

/** A server connection as {@link RedisJtiStore} reads it (an ioredis `Redis`, or a Cluster node). */
export interface RedisJtiStoreNode {
  readonly options: { host?: string; port?: number };
  info(section: 'server'): Promise<string>;
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
   * The history marker: a key without expiry whose value names the store's current epoch
   * (`<random id>.<time of the last detected loss in ms>`). Shared by every instance on the same
   * Redis. Default `<keyPrefix>#history` (no stored jti starts with `#` and is that short).
   */
  historyKey?: string;
  /**
   * The module's `clockSkew`, in seconds (default 60, as the module's). After a detected loss a
   * proof must have an `iat` later than the detection time plus this: a proof used just before
   * the loss may carry an `iat` up to `clockSkew` in the future. Honest clients are refused
   * (503, they retry with a fresh proof) for this long after a loss; keep it small.
   */
  clockSkew?: number;
  /**
   * With a `Cluster`, how often the marker is read, in milliseconds (default 1000): there the
   * marker cannot share a round trip with each proof's key, which lives on another node.
   */
  historyCheckIntervalMs?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

const logger = new Logger('RedisJtiStore');

/**
 * Records the jti (KEYS[1], for ARGV[1] ms, if new) and reads the history marker (KEYS[2]):
 * `{1 or 0, marker}` (a missing marker ends the array early: Lua arrays stop at nil).
 */
const RECORD_SCRIPT =
  "local r = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') " +
  "local m = redis.call('GET', KEYS[2]) " +
  'if r then return {1, m} end return {0, m}';
const RECORD_SCRIPT_SHA = createHash('sha1').update(RECORD_SCRIPT).digest('hex');

/** What the store knows about its history. */
type HistoryState =
  /** Not checked since start-up or since the connection dropped: refuse (503). */
  | 'unknown'
  /** The marker names our epoch: history is intact since {@link RedisJtiStore} adopted it. */
  | 'known';

/**
 * A {@link JtiStore} on Redis, shared by every instance that uses the same server or cluster.
 *
 * One atomic command per proof: `SET <prefix><key> 1 PX <ttl> NX`, where `key` is the proof's
 * 43-character replay key (see {@link JtiStore.recordIfNew}), on a single Redis inside a script
 * that also reads the history marker (below). It takes a client made by the
 * application (ioredis `Redis` or `Cluster`) and never closes it: whoever made it owns it.
 *
 * Fails closed: a client that is not connected, a Redis error or a timeout rejects with
 * {@link JtiStoreUnavailableError}, which the guard answers with 503.
 *
 * **Lost history.** Replay protection is only as good as Redis' memory: a restart without
 * persistence, a flush, an eviction or a failover to a replica that missed the last writes
 * forgets jtis that are still inside the acceptance window. The store notices:
 * - a marker key (`historyKey`, no expiry) names the current epoch; on a single `Redis` each
 *   proof's `SET … NX` and a `GET` of the marker run in one small Lua script (one command, one
 *   round trip, atomic), so a flush is seen by the very next proof; with a `Cluster` (where the
 *   two keys live on different nodes) it is read every `historyCheckIntervalMs`;
 * - when the connection drops the history is "unknown" until it is checked again on `ready`;
 *   a reconnect to another server process (`run_id` changed: a restart, even with persistence,
 *   or a failover) counts as a loss, since its last writes may be missing;
 * - a missing or foreign marker, or a new `run_id`, starts a new epoch at the detection time
 *   `T` (written to the marker, so every instance adopts the same `T`). For one acceptance
 *   window after `T`, only proofs with `iat > T + clockSkew` are accepted: every proof that
 *   could have been seen before the loss is refused (503 with `Retry-After`: the store cannot
 *   tell whether it was used), and fresh proofs pass once `clockSkew` has gone by.
 * - while the store cannot tell (before the first check, during one), it refuses with 503.
 *
 * Operational notes (measured in `test/redis/`):
 * - With a `Cluster`, one master down does not change the client's `status`: requests for its
 *   slots get 503 when ioredis gives up redirecting (`maxRedirections` × `retryDelayOnFailover`,
 *   about 1 s by default) or at `timeoutMs`, whichever comes first; the other slots keep working
 *   until `cluster-node-timeout`, after which the whole cluster refuses (still 503).
 * - With a `Cluster` the marker lives on one node: a master that loses its data while keeping
 *   the cluster's connections (restart without persistence of that master only, with the
 *   client reconnecting to it) is noticed only if the client's own `ready`/`close` events fire;
 *   use persistence on every master.
 */
export class RedisJtiStore implements JtiStore {
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly historyKey: string;
  private readonly clockSkewMs: number;
  private readonly now: () => number;
  private readonly single: boolean;
  private state: HistoryState = 'unknown';
  /** The marker value of the epoch we are in. */
  private epoch: string | undefined;
  /** Detection time (ms) of the loss that started the current epoch. */
  private lossAt = 0;
  /** `run_id` of each server (address) at the last check. */
  private readonly runIds = new Map<string, string>();
  private checking: Promise<void> | undefined;
  /** Why the last check failed (the cause of the 503s until one succeeds). */
  private checkError: unknown;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onReady = () => void this.checkHistory();
  private readonly onClose = () => {
    this.state = 'unknown';
  };

  constructor(
    private readonly client: RedisJtiStoreClient,
    options: RedisJtiStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? DPOP_DEFAULTS.redisKeyPrefix;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.historyKey = options.historyKey ?? this.keyPrefix + '#history';
    this.clockSkewMs = (options.clockSkew ?? DPOP_DEFAULTS.clockSkew) * 1000;
    this.now = options.now ?? Date.now;
    this.single = client.isCluster !== true;
    client.on('ready', this.onReady);
    client.on('close', this.onClose);
    client.on('end', this.onClose);
    if (!this.single) {
      this.timer = setInterval(
        () => void this.checkHistory(),
        options.historyCheckIntervalMs ?? 1000,
      );
      this.timer.unref();
    }
    if (client.status === 'ready') void this.checkHistory();
  }

  recordIfNew(replayKey: string, ttlMs: number, proof?: { iat: number }): Promise<boolean> {
    // A client that is not ready would queue the command (ioredis' offline queue) and hold the
    // request open until it reconnects; refuse at once instead.
    const status = this.client.status;
    if (status !== 'ready') {
      // A `lazyConnect` client never connects by itself: start it, and refuse this one request.
      if (status === 'wait') this.client.connect().catch(() => undefined);
      return Promise.reject(new JtiStoreUnavailableError());
    }
    if (this.state !== 'known') {
      // Cannot tell yet whether history was lost: find out (one round trip), refuse if that fails.
      return this.checkHistory().then(() =>
        this.state === 'known'
          ? this.record(replayKey, ttlMs, proof)
          : Promise.reject(new JtiStoreUnavailableError(undefined, { cause: this.checkError })),
      );
    }
    return this.record(replayKey, ttlMs, proof);
  }

  private record(
    replayKey: string,
    ttlMs: number,
    proof: { iat: number } | undefined,
  ): Promise<boolean> {
    // Within one window of a loss, a proof issued before it may have been used already.
    if (this.now() < this.lossAt + ttlMs) {
      if (proof === undefined) {
        return Promise.reject(
          new JtiStoreUnavailableError(
            'DPoP replay store lost its history and needs the proof iat',
          ),
        );
      }
      // Issued before the loss, or so soon after it that a proof used just before it could carry
      // that iat (up to clockSkew in the future): it may have been used, and the store cannot
      // tell. Refused without writing anything; an honest client retries with a fresh proof.
      if (!(proof.iat * 1000 > this.lossAt + this.clockSkewMs)) {
        return Promise.reject(
          new JtiStoreUnavailableError(
            'DPoP replay store lost its history recently; retry with a fresh proof',
          ),
        );
      }
    }
    const key = this.keyPrefix + replayKey;
    const ttl = Math.ceil(ttlMs);
    let command: Promise<unknown>;
    try {
      command = this.single
        ? this.recordAndReadMarker(key, ttl)
        : this.client.set(key, '1', 'PX', ttl, 'NX');
    } catch (error) {
      return Promise.reject(error);
    }
    // One promise and one timer per call, no race/finally chain: this runs on every request, and
    // the lean form saves 1–2.5 µs of CPU per call (of about 20) over `Promise.race(…).finally(…)`.
    const timeoutMs = this.timeoutMs;
    const epoch = this.epoch;
    return new Promise<boolean>((resolve, reject) => {
      const timer =
        timeoutMs > 0 ? setTimeout(rejectLate, timeoutMs, reject, timeoutMs) : undefined;
      command.then(
        (result) => {
          if (timer !== undefined) clearTimeout(timer);
          if (!this.single) {
            resolve(result === 'OK');
            return;
          }
          const [recorded, marker] = result as [number, string | undefined];
          if ((marker ?? null) !== epoch) {
            // History lost (or a new epoch begun elsewhere): this proof cannot be judged.
            this.state = 'unknown';
            void this.checkHistory();
            reject(new JtiStoreUnavailableError());
            return;
          }
          resolve(recorded === 1);
        },
        (cause: unknown) => {
          if (timer !== undefined) clearTimeout(timer);
          reject(new JtiStoreUnavailableError(undefined, { cause }));
        },
      );
    });
  }

  /**
   * `SET key 1 PX ttl NX` and `GET <historyKey>` in one script: one command, one round trip,
   * atomic. If the marker names our epoch when the SET runs, no loss came before it. `EVALSHA`,
   * and `EVAL` once when the script cache is empty (a restarted Redis).
   */
  private recordAndReadMarker(key: string, ttl: number): Promise<unknown> {
    return this.client
      .evalsha(RECORD_SCRIPT_SHA, 2, key, this.historyKey, ttl)
      .catch((error: unknown) =>
        error instanceof Error && error.message.startsWith('NOSCRIPT')
          ? this.client.eval(RECORD_SCRIPT, 2, key, this.historyKey, ttl)
          : Promise.reject(error),
      );
  }

  /** Stops the periodic check (Cluster) and the event listeners; never closes the client. */
  onModuleDestroy(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    this.client.off('end', this.onClose);
  }

  /** Runs one check at a time; callers that come during one share it. */
  private checkHistory(): Promise<void> {
    this.checking ??= this.readHistory()
      .catch((error: unknown) => {
        // Redis went away or refused during the check: stay unknown, try again on the next call.
        this.checkError = error;
        this.state = 'unknown';
      })
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  /**
   * Reads the marker and the servers' `run_id`s and decides whether history was lost since the
   * last check. Leaves `state` as `known` when it could tell.
   */
  private async readHistory(): Promise<void> {
    if (this.client.status !== 'ready') return;
    const [servers, marker] = await Promise.all([
      this.serverInfo(),
      // With a Cluster the marker's node may be down while the others serve: the run_ids below
      // still tell a restart or a failover of any master, so an unreadable marker is not fatal.
      this.single
        ? this.client.get(this.historyKey)
        : this.client.get(this.historyKey).catch(() => undefined),
    ]);
    // Another process behind an address we knew (a restart, even with persistence, whose last
    // writes may be missing) or, after the first check, a master at a new address (a replica
    // promoted by a failover, which may lag).
    let restarted = false;
    for (const [address, { runId }] of servers) {
      const known = this.runIds.get(address);
      if (known === undefined ? this.epoch !== undefined : known !== runId) restarted = true;
      this.runIds.set(address, runId);
    }
    if (marker === undefined) {
      if (this.epoch === undefined) throw new Error('DPoP history marker unreadable');
      if (!restarted) {
        this.state = 'known';
        return;
      }
    }
    if (typeof marker === 'string' && !restarted) {
      // First check: adopt the marker (and its loss time, maybe long past). Later: our own
      // epoch, or one another instance began after a loss it detected.
      if (marker !== this.epoch) this.adopt(marker);
    } else {
      // At the very first check of this process a missing marker means a Redis that started
      // empty, at its start time (the most recent start of any master); the writes that could be
      // lost are older than that. Later, or after a restart, the loss is dated now: a flush or a
      // failover may have happened at any time since the last check.
      let lossAt = this.now();
      if (this.epoch === undefined && !restarted && servers.size > 0) {
        const uptimes = [...servers.values()].map((server) => server.uptimeMs);
        lossAt -= Math.min(...uptimes);
      }
      const fresh = `${randomBytes(9).toString('base64url')}.${lossAt}`;
      const written = restarted
        ? await this.client.set(this.historyKey, fresh)
        : await this.client.set(this.historyKey, fresh, 'NX');
      // A lost history is worth a line in the log of every instance that notices it (an empty
      // Redis that started long ago is just a first start).
      if (this.now() - lossAt < 10 * 60_000)
        logger.warn(
          `DPoP replay history in Redis ${restarted ? 'may be incomplete (another server process)' : 'is missing'}: ` +
            `for one acceptance window, only proofs issued after ${new Date(lossAt).toISOString()} are accepted`,
        );
      // Another instance may have begun one a moment ago: adopt whichever the marker holds.
      this.adopt(written === 'OK' ? fresh : ((await this.client.get(this.historyKey)) ?? fresh));
    }
    this.state = 'known';
  }

  private adopt(marker: string): void {
    this.epoch = marker;
    const at = Number(marker.slice(marker.lastIndexOf('.') + 1));
    // An unreadable marker (written by something else): treat it as a loss just now.
    this.lossAt = Number.isFinite(at) && at > 0 ? at : this.now();
  }

  /**
   * `run_id` (it changes with every restart, and on failover) and uptime of the server, or of
   * every reachable master of a Cluster, by address. A master that does not answer is left out:
   * its slots fail on their own, and it is judged when it answers again.
   */
  private async serverInfo(): Promise<Map<string, { runId: string; uptimeMs: number }>> {
    const nodes: RedisJtiStoreNode[] = this.single
      ? [this.client as unknown as RedisJtiStoreNode]
      : (this.client.nodes?.('master') ?? []);
    const infos = await Promise.all(
      nodes.map((node) =>
        this.single ? node.info('server') : node.info('server').catch(() => ''),
      ),
    );
    const servers = new Map<string, { runId: string; uptimeMs: number }>();
    infos.forEach((info, i) => {
      const runId = /^run_id:([0-9a-f]+)/m.exec(info)?.[1];
      const uptime = Number(/^uptime_in_seconds:([0-9]+)/m.exec(info)?.[1]);
      const { host, port } = nodes[i]!.options;
      if (runId !== undefined && Number.isFinite(uptime)) {
        servers.set(`${host}:${port}`, { runId, uptimeMs: uptime * 1000 });
      }
    });
    return servers;
  }
}

/** Timer callback (shared, no closure per call): Redis did not answer in time. */
function rejectLate(reject: (reason: unknown) => void, ms: number): void {
  const cause = new Error(`Redis did not answer within ${ms} ms`);
  reject(new JtiStoreUnavailableError(undefined, { cause }));
}
