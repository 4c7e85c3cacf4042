import { createHash, randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { JtiStoreUnavailableError } from '../../errors/dpop.errors.js';
import { RecoveryNonces } from './recovery-nonce.mac.js';
import { withTimeout } from './redis-timeout.util.js';
import type { RedisJtiStoreClient, RedisJtiStoreNode } from './redis-jti-store.options.js';
import {
  beginEpoch,
  checkEpoch,
  epochScriptSha,
  newEpochId,
  NOSCRIPT,
  readMarker,
} from './redis-record.script.js';
import {
  bucketIndex,
  bucketLayout,
  nonceSecretKey,
  parseMarker,
  type BucketLayout,
  type HistoryMarker,
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
  /** Every marker read names an epoch whose script the server has: history intact since. */
  | 'known'
  /** A server may evict live records (see `evictionHazard`): refuse (503) until that changes. */
  | 'unsafe';

/** One marker's keys and the epoch the store is in for them. */
export interface HistoryBucket extends BucketLayout {
  /** The marker value of the epoch we are in; `undefined` until read. */
  epoch: string | undefined;
  /** The SHA-1 of the epoch's script, which every proof of this bucket runs. */
  sha: string | undefined;
  /** Detection time (ms, Redis' clock) of the loss that started the current epoch. */
  lossAt: number;
  /** The number of the last check that read this bucket's marker. */
  readIn: number;
}

/** What the monitor is told by its store. */
export interface HistoryMonitorOptions {
  readonly historyKey: string;
  /** This instance's clock (ms); only the offset to Redis' `TIME` is used with it. */
  readonly now: () => number;
  /** For the log: how proofs that may predate a loss are answered. */
  readonly recovery: boolean;
  /**
   * Longest check, in ms (the store's `timeoutMs`; 0 = the client's own timeouts): a check that
   * hangs (a server that stopped answering) must not keep every later one waiting.
   */
  readonly timeoutMs: number;
}

const logger = new Logger('RedisJtiStore');

/**
 * The history state machine of `RedisJtiStore`: reads every server's `INFO` (eviction hazard,
 * evictions, `run_id`s) and every marker with the script of the epoch it names (which a
 * restarted server lacks), begins an epoch where history may be incomplete, and keeps Redis'
 * clock. One check at a time. See `docs/replay-safety.md`.
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
  /** Redis' `TIME` minus this instance's clock, as last read (never more than the truth). */
  private offsetMs = 0;
  /** A digest of every bucket's epoch (recovery nonces are bound to it); `undefined` = stale. */
  private epochDigest: string | undefined;
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
      sha: undefined,
      lossAt: 0,
      readIn: 0,
    }));
  }

  /** Now on Redis' clock (ms), as every instance reads it: loss dates and nonces use it. */
  now(): number {
    return this.options.now() + this.offsetMs;
  }

  /** The bucket a replay key falls in. */
  bucketOf(replayKey: string): HistoryBucket {
    return this.buckets[bucketIndex(replayKey, this.buckets.length)]!;
  }

  /** The epoch every marker names, as a digest: a recovery nonce is good in this one only. */
  get epoch(): string {
    this.epochDigest ??= createHash('sha256')
      .update(this.buckets.map((bucket) => bucket.epoch ?? '').join(','))
      .digest('base64url')
      .slice(0, 16);
    return this.epochDigest;
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
    if (this.checking !== undefined) return this.checking;
    // On a Cluster each read is bounded on its own (a master that is down must not make the
    // whole check, hence every slot, fail); on a single Redis the check as a whole.
    const work = this.single
      ? withTimeout(this.readHistory(), this.options.timeoutMs)
      : this.readHistory();
    this.checking = work
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
   * Reads every server's `INFO` and every bucket's epoch, and begins an epoch wherever history
   * may be incomplete. Leaves `state` as `known` when it could tell.
   */
  private async readHistory(): Promise<void> {
    if (this.client.status !== 'ready') return;
    // With a Cluster a node may be down while the others serve: its slots fail on their own,
    // and it is judged when it answers again.
    const tolerant = <T>(read: Promise<T>): Promise<T | undefined> =>
      this.single ? read : withTimeout(read, this.options.timeoutMs).catch(() => undefined);
    const nodes: RedisJtiStoreNode[] = this.single
      ? [this.client as unknown as RedisJtiStoreNode]
      : (this.client.nodes?.('master') ?? []);
    const [infos, secret] = await Promise.all([
      Promise.all(nodes.map((node) => tolerant(node.info()))),
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
    // restart or a failover, also seen by the scripts), a master at a new address after the
    // first check, or keys evicted.
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
    // another state predates evictions (or a restart, a failover): its history may be
    // incomplete. A marker written under this state was written by an instance that noticed the
    // same event and began an epoch after it, which every other instance then adopts. Judged
    // when every master answered (a Cluster may list one node twice for a moment, as it replaces
    // its connection), and whenever this very check saw a change.
    const seen = serversSignature(servers.values());
    const addresses = new Set(nodes.map(({ options }) => `${options.host}:${options.port}`));
    const judged = servers.size === addresses.size || reasons.length > 0;
    const check = ++this.checks;
    const begun: string[] = [];
    await Promise.all(
      this.buckets.map((bucket) =>
        tolerant(this.settle(bucket, seen, judged, begun)).then((settled) => {
          if (settled === true) bucket.readIn = check;
        }),
      ),
    );
    if (begun.length > 0) {
      const what = [...new Set([...reasons, ...begun])].join(', ');
      logger.warn(
        `DPoP replay history in Redis may be incomplete (${what}): for one acceptance window, ` +
          `proofs that may predate ${new Date(this.latestLoss()).toISOString()} are answered ` +
          `with ${this.options.recovery ? 'use_dpop_nonce and a fresh nonce' : '503'}`,
      );
    }
    await this.loadNonceSecret(secret);
    this.checked = true;
    this.state = 'known';
  }

  /**
   * Brings one bucket to an epoch its server vouches for: the marker names it and the server has
   * its script (so it has not restarted since the epoch began). Where not, begins a new epoch,
   * dated by Redis, unless another instance just did (then judges that one). Resolves `true`.
   */
  private async settle(
    bucket: HistoryBucket,
    signature: string,
    judged: boolean,
    begun: string[],
  ): Promise<true> {
    let value = bucket.epoch;
    for (let round = 0; round < 5; round++) {
      if (value === undefined) {
        const read = await readMarker(this.client, bucket.markerKey);
        this.observe(read.time);
        value = read.marker;
      }
      const marker = value === '' ? undefined : parseMarker(value);
      let reason: string;
      if (marker === undefined) {
        // A missing marker is a loss whenever it is seen, the first check included: a first
        // deploy looks exactly like a flush.
        reason = value === '' ? 'a marker is missing' : 'a marker is unreadable';
      } else {
        const reply = await checkEpoch(this.client, marker.id, bucket.markerKey);
        if (reply === NOSCRIPT) {
          reason = "a server lacks its epoch's script (a restart, a failover or SCRIPT FLUSH)";
        } else {
          this.observe(reply.time);
          if (reply.flag !== 1) {
            value = reply.marker; // another epoch began meanwhile: judge that one
            continue;
          }
          if (!judged || marker.signature === signature) {
            this.adopt(bucket, reply.marker, marker);
            return true;
          }
          reason = 'a marker predates the servers it is on';
        }
      }
      const fresh = await beginEpoch(this.client, newEpochId(), bucket.markerKey, value, signature);
      this.observe(fresh.time);
      const written = fresh.flag === 1 ? parseMarker(fresh.marker) : undefined;
      if (written !== undefined) {
        this.adopt(bucket, fresh.marker, written);
        begun.push(reason);
        return true;
      }
      value = fresh.marker; // another instance began one first: judge it
    }
    throw new Error('DPoP replay history marker keeps changing');
  }

  private adopt(bucket: HistoryBucket, value: string, marker: HistoryMarker): void {
    if (bucket.epoch === value) return;
    bucket.epoch = value;
    bucket.sha = epochScriptSha(marker.id);
    bucket.lossAt = marker.lossAt;
    this.epochDigest = undefined;
  }

  /** Redis' time `at`, read in a reply that just came: our clock's offset to it. */
  private observe(at: number): void {
    this.offsetMs = at - this.options.now();
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
