import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { JtiStoreUnavailableError } from '../../errors/dpop.errors.js';
import { RecoveryNonces } from './recovery-nonce.mac.js';
import type { RedisJtiStoreClient, RedisJtiStoreNode } from './redis-jti-store.options.js';
import {
  bucketLayout,
  formatMarker,
  nonceSecretKey,
  parseMarker,
  type BucketLayout,
} from './replay-history.marker.js';
import {
  evictionHazard,
  parseRedisInfo,
  serversSignature,
  type RedisServerState,
} from './redis-server.info.js';

/** What the store knows about its history. */
export type HistoryState =
  /** Not checked since start-up or since the connection dropped: refuse (503). */
  | 'unknown'
  /** Every marker names our epoch: history is intact since the store adopted it. */
  | 'known'
  /** A server may evict live records (see `evictionHazard`): refuse (503) until that changes. */
  | 'unsafe';

/** One marker's keys and the epoch the store is in for them. */
export interface HistoryBucket extends BucketLayout {
  /** The marker value of the epoch we are in; `undefined` until read. */
  epoch: string | undefined;
  /** Detection time (ms) of the loss that started the current epoch. */
  lossAt: number;
  /** The number of the last check that read this bucket's marker. */
  readIn: number;
}

/** What the monitor is told by its store. */
export interface HistoryMonitorOptions {
  readonly historyKey: string;
  readonly now: () => number;
  /** For the log: how proofs that may predate a loss are answered. */
  readonly recovery: boolean;
}

const logger = new Logger('RedisJtiStore');

/**
 * The history state machine of `RedisJtiStore`: reads every server's `INFO`, every marker and the
 * nonce secret, and decides whether history was lost since the last check (epochs, buckets,
 * markers, servers' signatures). One check at a time. See `docs/replay-safety.md`.
 * @internal
 */
export class ReplayHistoryMonitor {
  state: HistoryState = 'unknown';
  readonly buckets: readonly HistoryBucket[];
  /** Numbers the checks; a bucket records the last one that read its marker. */
  checks = 0;
  nonces: RecoveryNonces | undefined;
  private readonly single: boolean;
  private readonly secretKey: string;
  /** Why the store is `unsafe`. */
  private unsafeReason: string | undefined;
  /** Each server (address) as the last check saw it. */
  private readonly servers = new Map<string, RedisServerState>();
  /** Whether one check has completed (later, a new server is news). */
  private checked = false;
  private nonceSecret: string | undefined;
  private checking: Promise<void> | undefined;
  /** Why the last check failed (the cause of the 503s until one succeeds). */
  private checkError: unknown;

  constructor(
    private readonly client: RedisJtiStoreClient,
    private readonly options: HistoryMonitorOptions,
  ) {
    this.single = client.isCluster !== true;
    this.secretKey = nonceSecretKey(options.historyKey);
    this.buckets = bucketLayout(options.historyKey, !this.single).map((layout) => ({
      ...layout,
      epoch: undefined,
      lossAt: 0,
      readIn: 0,
    }));
  }

  /** The connection dropped: what the last check saw may no longer hold. */
  markUnknown(): void {
    if (this.state === 'known') this.state = 'unknown';
  }

  latestLoss(): number {
    let latest = 0;
    for (const bucket of this.buckets) if (bucket.lossAt > latest) latest = bucket.lossAt;
    return latest;
  }

  /** The refusal while the history cannot be told (503). */
  unavailable(): JtiStoreUnavailableError {
    return this.state === 'unsafe'
      ? new JtiStoreUnavailableError(`DPoP replay store refused: ${this.unsafeReason}`)
      : new JtiStoreUnavailableError(undefined, { cause: this.checkError });
  }

  /** Why the servers may evict live records, when `state` is `unsafe`. */
  get hazard(): string | undefined {
    return this.unsafeReason;
  }

  /** Runs one check at a time; callers that come during one share it. */
  check(): Promise<void> {
    this.checking ??= this.readHistory()
      .catch((error: unknown) => {
        // Redis went away or refused during the check: stay unknown, try again on the next call.
        this.checkError = error;
        this.markUnknown();
      })
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  /**
   * A check that starts after now (after the one in flight, if any): it sees what came before.
   * Resolves with its number.
   */
  freshCheck(): Promise<number> {
    const after = this.checking ?? Promise.resolve();
    return after.then(() => this.check()).then(() => this.checks);
  }

  /**
   * Reads every server's `INFO`, every marker and the nonce secret, and decides whether history
   * was lost since the last check. Leaves `state` as `known` when it could tell.
   */
  private async readHistory(): Promise<void> {
    if (this.client.status !== 'ready') return;
    // With a Cluster a node may be down while the others serve: its slots fail on their own,
    // and it is judged when it answers again.
    const tolerant = <T>(read: Promise<T>): Promise<T | undefined> =>
      this.single ? read : read.catch(() => undefined);
    const nodes: RedisJtiStoreNode[] = this.single
      ? [this.client as unknown as RedisJtiStoreNode]
      : (this.client.nodes?.('master') ?? []);
    const [infos, markers, secret] = await Promise.all([
      Promise.all(nodes.map((node) => tolerant(node.info()))),
      Promise.all(this.buckets.map((bucket) => tolerant(this.client.get(bucket.markerKey)))),
      tolerant(this.client.get(this.secretKey)),
    ]);

    const servers = new Map<string, RedisServerState>();
    infos.forEach((info, i) => {
      const state = info === undefined ? undefined : parseRedisInfo(info);
      const { host, port } = nodes[i]!.options;
      if (state !== undefined) servers.set(`${host}:${port}`, state);
    });
    if (this.single && servers.size === 0) throw new Error('Redis INFO gave no run_id');
    for (const [address, server] of servers) {
      const hazard = evictionHazard(address, server);
      if (hazard !== undefined) {
        if (this.unsafeReason !== hazard) logger.error(hazard);
        this.unsafeReason = hazard;
        this.state = 'unsafe';
        return;
      }
    }
    this.unsafeReason = undefined;

    // Why history may be incomplete, for the log: another process behind an address we knew (a
    // restart, even with persistence, whose last writes may be missing; a failover), a master at
    // a new address after the first check, or keys evicted.
    const reasons: string[] = [];
    for (const [address, server] of servers) {
      const known = this.servers.get(address);
      if (known === undefined) {
        if (this.checked) reasons.push(`a new server at ${address}`);
      } else if (known.runId !== server.runId) {
        reasons.push(`another server process at ${address}`);
      } else if (server.evictedKeys !== known.evictedKeys) {
        reasons.push(`${address} evicted keys`);
      }
      this.servers.set(address, server);
    }
    // The servers' state (run_ids, eviction counts) this check saw. A marker written under
    // another state predates a restart, a failover or evictions: its history may be incomplete,
    // also at the very first check. Judged when every master answered (a Cluster may list one
    // node twice for a moment, as it replaces its connection), and whenever this very check saw
    // a change.
    const seen = serversSignature(servers.values());
    const addresses = new Set(nodes.map(({ options }) => `${options.host}:${options.port}`));
    const judged = servers.size === addresses.size || reasons.length > 0;
    const check = ++this.checks;

    const lost: HistoryBucket[] = [];
    const stale: HistoryBucket[] = [];
    markers.forEach((marker, i) => {
      const bucket = this.buckets[i]!;
      if (marker === undefined) return; // its node did not answer
      bucket.readIn = check;
      if (marker === null) lost.push(bucket);
      else if (judged && parseMarker(marker).signature !== seen) stale.push(bucket);
      else if (marker !== bucket.epoch) adopt(bucket, marker, this.options.now());
    });
    if (lost.length + stale.length > 0) {
      // A missing marker is a loss whenever it is seen, the first check included (a first deploy
      // looks exactly like a flush), dated now: the loss may have happened at any time since the
      // last check, and a later date only refuses more.
      const lossAt = this.options.now();
      const fresh = formatMarker(randomBytes(24).toString('base64url'), seen, lossAt);
      await Promise.all(
        [...lost, ...stale].map(async (bucket) => {
          // A missing marker only if still missing (another instance may have just begun an
          // epoch); a stale one is replaced.
          const written = stale.includes(bucket)
            ? await this.client.set(bucket.markerKey, fresh)
            : await this.client.set(bucket.markerKey, fresh, 'NX');
          const value =
            written === 'OK' ? fresh : ((await this.client.get(bucket.markerKey)) ?? fresh);
          adopt(bucket, value, lossAt);
        }),
      );
      const what =
        reasons.length > 0
          ? reasons.join(', ')
          : stale.length > 0
            ? 'its marker predates the servers it is on'
            : 'its marker is missing';
      logger.warn(
        `DPoP replay history in Redis may be incomplete (${what}): for one acceptance window, ` +
          `proofs that may predate ${new Date(lossAt).toISOString()} are answered with ` +
          (this.options.recovery ? 'use_dpop_nonce and a fresh nonce' : '503'),
      );
    }
    await this.loadNonceSecret(secret);
    this.checked = true;
    this.state = 'known';
  }

  /** The recovery nonces' secret, created by the first instance that finds none. */
  private async loadNonceSecret(read: string | null | undefined): Promise<void> {
    let secret = read;
    if (secret === null) {
      const fresh = randomBytes(32).toString('base64url');
      const written = await this.client.set(this.secretKey, fresh, 'NX');
      secret = written === 'OK' ? fresh : await this.client.get(this.secretKey);
    }
    if (typeof secret === 'string' && secret !== this.nonceSecret) {
      this.nonceSecret = secret;
      this.nonces = new RecoveryNonces(Buffer.from(secret, 'utf8'));
    }
  }
}

/** Enters the epoch a marker names; an unreadable marker is a loss at `fallback`. */
function adopt(bucket: HistoryBucket, marker: string, fallback: number): void {
  bucket.epoch = marker;
  bucket.lossAt = parseMarker(marker).lossAt ?? fallback;
}
