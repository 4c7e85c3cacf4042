import { randomBytes } from 'node:crypto';
import {
  DPoPError,
  JtiStoreNonceRequiredError,
  JtiStoreUnavailableError,
} from '../../errors/dpop.errors.js';
import type { JtiStore, JtiStoreProofInfo, JtiStoreReadiness } from '../jti-store.interface.js';
import { DPOP_DEFAULTS } from '../../options/dpop.constants.js';
import { lossVerdict } from './history-loss.policy.js';
import { epochReply, NOSCRIPT, recordInEpoch } from './redis-record.script.js';
import type { RedisJtiStoreClient, RedisJtiStoreOptions } from './redis-jti-store.options.js';
import { untilReady, withTimeout } from './redis-timeout.util.js';
import { assertNoHashTags, defaultHistoryKey, recordKey } from './replay-history.marker.js';
import { ReplayHistoryMonitor } from './replay-history.monitor.js';

export type {
  RedisJtiStoreClient,
  RedisJtiStoreNode,
  RedisJtiStoreOptions,
} from './redis-jti-store.options.js';

/**
 * A {@link JtiStore} on Redis, shared by every instance that uses the same server or cluster.
 *
 * One atomic command per proof: `EVALSHA` of a small Lua script that runs
 * `SET <prefix><key> 1 PX <ttl> NX`, where `key` is the proof's 43-character replay key (see
 * {@link JtiStore.recordIfNew}), and checks the history marker that guards it (one round trip).
 * It takes a client made by the application (ioredis `Redis` or `Cluster`) and never closes it: whoever made it owns it.
 *
 * Fails closed: a client that is not connected, a Redis error or a timeout rejects with
 * {@link JtiStoreUnavailableError}, which the guard answers with 503.
 *
 * Replay protection is only as good as Redis' memory: the store notices when Redis may have
 * forgotten jtis of the acceptance window (a restart, a flush, evictions, a failover) and, for
 * one window, accepts only proofs that cannot predate the loss; any other gets
 * `use_dpop_nonce` ({@link JtiStoreNonceRequiredError}). How, what is guaranteed and the test
 * that proves each point: `docs/replay-safety.md`.
 */
export class RedisJtiStore implements JtiStore {
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly clockSkewMs: number;
  private readonly recovery: boolean;
  private readonly history: ReplayHistoryMonitor;
  /** The longest `ttlMs` seen: a readiness probe is judged against the proofs' window. */
  private windowMs: number;
  /** Whether {@link start} ran (and {@link onModuleDestroy} did not since). */
  private started = false;
  /** The periodic check, from {@link start} on. */
  private timer: NodeJS.Timeout | undefined;
  private readonly checkIntervalMs: number;
  private readonly startupTimeoutMs: number;
  private readonly onReady = () => void this.history.check();
  private readonly onClose = () => this.history.markUnknown();

  constructor(
    private readonly client: RedisJtiStoreClient,
    options: RedisJtiStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? DPOP_DEFAULTS.redisKeyPrefix;
    this.timeoutMs = options.timeoutMs ?? 2000;
    const historyKey = options.historyKey ?? defaultHistoryKey(this.keyPrefix);
    this.clockSkewMs = (options.clockSkew ?? DPOP_DEFAULTS.clockSkew) * 1000;
    this.recovery = options.recoveryNonces ?? true;
    this.windowMs = (DPOP_DEFAULTS.proofTtl + DPOP_DEFAULTS.clockSkew + 1) * 1000;
    if (client.isCluster === true) assertNoHashTags(this.keyPrefix, historyKey);
    this.history = new ReplayHistoryMonitor(client, {
      historyKey,
      now: options.now ?? Date.now,
      recovery: this.recovery,
      timeoutMs: this.timeoutMs,
    });
    this.checkIntervalMs = options.historyCheckIntervalMs ?? 1000;
    this.startupTimeoutMs = options.startupTimeoutMs ?? 10_000;
    if (!(this.startupTimeoutMs > 0)) {
      throw new Error('RedisJtiStore: startupTimeoutMs must be a positive number of milliseconds');
    }
    // Nothing runs yet (see start()): a store that a test replaced (overrideProvider(JtiStore))
    // never touches its client, so the test needs no Redis and leaves no timer or listener.
  }

  /**
   * Starts watching the client (events, periodic checks, a first check): when Nest initialises
   * the store as the module's `JtiStore`, or at its first use outside Nest. Idempotent.
   */
  private start(): void {
    if (this.started) return;
    this.started = true;
    this.client.on('ready', this.onReady);
    this.client.on('close', this.onClose);
    this.client.on('end', this.onClose);
    this.timer = setInterval(() => void this.history.check(), this.checkIntervalMs);
    this.timer.unref();
    if (this.client.status === 'ready') void this.history.check();
  }

  /** Nest's hook: the store is the application's `JtiStore`, so it starts watching Redis. */
  onModuleInit(): void {
    this.start();
  }

  recordIfNew(replayKey: string, ttlMs: number, proof?: JtiStoreProofInfo): Promise<boolean> {
    this.start();
    if (ttlMs > this.windowMs) this.windowMs = ttlMs;
    return this.recordJudged(replayKey, ttlMs, proof, ttlMs);
  }

  /**
   * A recovery nonce this store (or another instance on the same Redis) handed out in the
   * current epoch, still current. See {@link JtiStore.acceptsNonce}.
   */
  acceptsNonce(nonce: string): boolean {
    // Only while a loss is being recovered from: afterwards the module's own nonces rule.
    const history = this.history;
    const now = history.now();
    return (
      now < history.latestLoss() + this.windowMs &&
      history.nonces?.mintedAt(nonce, now, history.epoch) !== undefined
    );
  }

  /**
   * Judges a fresh proof as {@link recordIfNew} would, against the proofs' acceptance window,
   * with a random key that Redis forgets after one second (a real write, so that a full or
   * read-only Redis is not ready). See {@link JtiStore.probe}.
   */
  async probe(): Promise<JtiStoreReadiness> {
    this.start();
    const key = randomBytes(32).toString('base64url').slice(0, 43);
    const iat = Math.floor(this.history.now() / 1000);
    try {
      if (!(await this.recordJudged(key, 1000, { iat }, this.windowMs))) {
        throw new JtiStoreUnavailableError('DPoP replay store refused a new key');
      }
      return 'ready';
    } catch (error) {
      if (error instanceof JtiStoreNonceRequiredError) return 'nonce-required';
      throw error;
    }
  }

  /**
   * The start-up check, whatever the client's state when Nest bootstraps (an
   * `@nestjs-modules/ioredis` client is usually still connecting): waits up to
   * {@link RedisJtiStoreOptions.startupTimeoutMs} for the client to be ready and for a first
   * history check, then refuses to let the application start on a Redis that may evict live
   * replay records, or that did not answer in time (every DPoP request would get 503). Once it
   * resolves, the store accepts proofs at once: an e2e test needs no wait of its own.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.start();
    const deadline = Date.now() + this.startupTimeoutMs;
    if (this.client.status === 'wait') this.client.connect().catch(() => undefined);
    const ready = await untilReady(this.client, this.startupTimeoutMs);
    // A check that starts now (not one begun before the connection was ready) decides.
    if (ready) {
      const left = Math.max(1, deadline - Date.now());
      await withTimeout(this.history.freshCheck(), left).catch(() => undefined);
    }
    const history = this.history;
    if (history.state === 'unsafe') throw new Error(`RedisJtiStore: ${history.hazard}`);
    if (history.state !== 'known') {
      const cause = history.unavailable().cause;
      const why = !ready
        ? `the Redis client is not ready (status ${this.client.status})`
        : `Redis did not answer the replay-history check` +
          (cause instanceof Error ? ` (${cause.message})` : '');
      throw new Error(
        `RedisJtiStore: ${why} after ${this.startupTimeoutMs} ms at start-up; every DPoP ` +
          'request would be refused with 503 (startupTimeoutMs sets the wait)',
      );
    }
  }

  /**
   * Checks the servers now, as the periodic check does (after the one in flight, if any), and
   * resolves once done: for tests, and after maintenance. Never rejects; a failed check leaves
   * the store refusing (503) until one succeeds.
   */
  checkHistory(): Promise<void> {
    this.start();
    return this.history.freshCheck().then(() => undefined);
  }

  /** Stops the periodic check and the event listeners; never closes the client. */
  onModuleDestroy(): void {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.timer);
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    this.client.off('end', this.onClose);
  }

  private recordJudged(
    replayKey: string,
    ttlMs: number,
    proof: JtiStoreProofInfo | undefined,
    windowMs: number,
  ): Promise<boolean> {
    // A client that is not ready would queue the command (ioredis' offline queue) and hold the
    // request open until it reconnects; refuse at once instead.
    const status = this.client.status;
    if (status !== 'ready') {
      // A `lazyConnect` client never connects by itself: start it, and refuse this one request.
      if (status === 'wait') this.client.connect().catch(() => undefined);
      return Promise.reject(new JtiStoreUnavailableError());
    }
    const history = this.history;
    if (history.state === 'known') return this.record(replayKey, ttlMs, proof, windowMs, false);
    if (history.state === 'unsafe') return Promise.reject(history.unavailable());
    // Cannot tell yet whether history was lost: find out (one round trip), refuse if that fails.
    return withTimeout(history.check(), this.timeoutMs).then(() =>
      history.state === 'known'
        ? this.record(replayKey, ttlMs, proof, windowMs, false)
        : Promise.reject(history.unavailable()),
    );
  }

  /**
   * The refusal a proof gets before anything is written, else `undefined`: an `iat` further
   * ahead of Redis' clock than the skew (an instance whose clock runs ahead would accept it,
   * and it would outlive the loss policy's bound), or, within one window of its bucket's last
   * loss, a proof that may predate the loss.
   */
  private refusal(
    lossAt: number,
    windowMs: number,
    proof: JtiStoreProofInfo | undefined,
  ): Error | undefined {
    const history = this.history;
    const now = history.now();
    if (proof !== undefined) {
      const skewMs = Math.max(this.clockSkewMs, (proof.clockSkew ?? 0) * 1000);
      if (proof.iat * 1000 > now + skewMs) {
        return new DPoPError(
          'ERR_DPOP_IAT_IN_FUTURE',
          "DPoP proof iat is too far in the future (by the replay store's clock)",
        );
      }
    }
    const nonces = history.nonces;
    const verdict = lossVerdict({
      now,
      lossAt,
      windowMs,
      clockSkewMs: this.clockSkewMs,
      proof,
      recoveryNonceValid:
        proof?.nonce !== undefined &&
        nonces?.mintedAt(proof.nonce, now, history.epoch) !== undefined,
      recovery: this.recovery && nonces !== undefined,
    });
    switch (verdict?.refuse) {
      case undefined:
        return undefined;
      case 'no-iat': // a caller that does not tell
        return new JtiStoreUnavailableError(
          'DPoP replay store lost its history and needs the proof iat',
        );
      case 'wait':
        return new JtiStoreUnavailableError(
          'DPoP replay store lost its history recently; retry with a fresh proof',
          { retryAfter: verdict.retryAfter },
        );
      case 'nonce':
        return new JtiStoreNonceRequiredError(nonces!.mint(now, history.epoch), verdict.retryAfter);
    }
  }

  private record(
    replayKey: string,
    ttlMs: number,
    proof: JtiStoreProofInfo | undefined,
    windowMs: number,
    again: boolean,
  ): Promise<boolean> {
    const history = this.history;
    const bucket = history.bucketOf(replayKey);
    const refusal = this.refusal(bucket.lossAt, windowMs, proof);
    // Refused without writing anything: an honest client retries with a fresh proof.
    if (refusal !== undefined) return Promise.reject(refusal);
    const sha = bucket.sha;
    if (sha === undefined)
      return this.afterNews(NOSCRIPT, replayKey, ttlMs, proof, windowMs, again);
    const key = recordKey(this.keyPrefix, bucket, replayKey);
    let command: Promise<unknown>;
    try {
      command = recordInEpoch(this.client, sha, key, bucket.markerKey, Math.ceil(ttlMs));
    } catch (error) {
      return Promise.reject(error);
    }
    return withTimeout(
      command.catch((cause: unknown) =>
        Promise.reject(new JtiStoreUnavailableError(undefined, { cause })),
      ),
      this.timeoutMs,
    ).then((reply) =>
      // The steady state: the server has the epoch's script (it has not restarted since the
      // epoch began) and the marker names the epoch (no flush): the SET NX answer holds.
      (reply === 1 || reply === 0) && history.state === 'known'
        ? reply === 1
        : this.afterNews(reply, replayKey, ttlMs, proof, windowMs, again),
    );
  }

  /**
   * The server lacks the epoch's script (`NOSCRIPT`: restarted, failed over), the marker names
   * another epoch (a flush, or another instance began one), or the store's state changed while
   * the command was out: find out with a check that starts after this reply, then judge the
   * proof as the epoch now known judges it.
   */
  private afterNews(
    reply: unknown,
    replayKey: string,
    ttlMs: number,
    proof: JtiStoreProofInfo | undefined,
    windowMs: number,
    again: boolean,
  ): Promise<boolean> {
    const history = this.history;
    const bucket = history.bucketOf(replayKey);
    history.markUnknown();
    return withTimeout(history.freshCheck(), this.timeoutMs).then((check) => {
      // Still unknown, or this bucket's marker unread (its Cluster node did not answer).
      if (history.state !== 'known' || bucket.readIn !== check) throw history.unavailable();
      // Nothing was written: record it once in the epoch now known.
      if (reply === NOSCRIPT) {
        if (again) throw history.unavailable();
        return this.record(replayKey, ttlMs, proof, windowMs, true);
      }
      const recorded = reply === 1 || reply === 0 ? reply : epochReply(reply).flag;
      // Already in the history we now know: a replay.
      if (recorded !== 1) return false;
      const late = this.refusal(bucket.lossAt, windowMs, proof);
      if (late !== undefined) throw late;
      return true;
    });
  }
}
