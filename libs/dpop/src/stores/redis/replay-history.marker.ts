/**
 * The one home of `RedisJtiStore`'s key layout and history-marker format, shared by the store,
 * `nest-dpop/testing` (which seeds markers) and the tests: if two copies drifted, a seed would
 * write markers the store reads as a loss, or the reverse. See `docs/replay-safety.md`.
 * @internal
 */

/** The 64 characters a replay key starts with: one marker (and hash tag) each on a Cluster. */
export const BUCKET_TAGS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Default history key of a key prefix: no stored jti starts with `#` and is that short. (0.3
 * stores used `#history` for markers of another format: the two versions keep apart during a
 * rolling deploy instead of taking each other's markers for losses.)
 */
export function defaultHistoryKey(keyPrefix: string): string {
  return keyPrefix + '#epoch';
}

/** Where the recovery nonces' secret is kept (shared by every instance). */
export function nonceSecretKey(historyKey: string): string {
  return historyKey + '#nonce-secret';
}

/** The keys one marker guards: all of them on a single Redis; one hash tag's on a Cluster. */
export interface BucketLayout {
  /** `{c}` on a Cluster (so keys and marker share a slot), empty on a single Redis. */
  readonly tag: string;
  readonly markerKey: string;
}

/** The buckets of a store: one on a single Redis, one per hash tag on a Cluster. */
export function bucketLayout(historyKey: string, cluster: boolean): BucketLayout[] {
  return cluster
    ? [...BUCKET_TAGS].map((c) => ({ tag: `{${c}}`, markerKey: `${historyKey}{${c}}` }))
    : [{ tag: '', markerKey: historyKey }];
}

/** The marker keys of a store (see {@link bucketLayout}). */
export function historyMarkerKeys(historyKey: string, cluster: boolean): string[] {
  return bucketLayout(historyKey, cluster).map((bucket) => bucket.markerKey);
}

/** Index of the bucket a replay key falls in (0 on a single Redis). */
export function bucketIndex(replayKey: string, buckets: number): number {
  if (buckets === 1) return 0;
  const index = BUCKET_TAGS.indexOf(replayKey.charAt(0));
  return index >= 0 ? index : replayKey.charCodeAt(0) & 63;
}

/** The Redis key a replay key is stored under: `<prefix><tag><key>`. */
export function recordKey(keyPrefix: string, bucket: BucketLayout, replayKey: string): string {
  return keyPrefix + bucket.tag + replayKey;
}

/**
 * On a Cluster the store sets the hash tags itself, so that each key shares a slot with its
 * marker: a prefix or history key with braces of its own would move keys away from it.
 */
export function assertNoHashTags(keyPrefix: string, historyKey: string): void {
  if (/[{}]/.test(keyPrefix + historyKey)) {
    throw new Error(
      'RedisJtiStore: on a Cluster, keyPrefix and historyKey must not contain { or }',
    );
  }
}

/** A marker's value, read. */
export interface HistoryMarker {
  /** The epoch's random id: its script (see `epochScript`) names it. */
  readonly id: string;
  /** The servers' state it was written under (see `serversSignature`). */
  readonly signature: string;
  /** When the loss that began this epoch was detected (ms, Redis' `TIME`). */
  readonly lossAt: number;
}

/** An epoch id: 22 base64url characters (safe inside a Lua string and a marker). */
export const EPOCH_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * `<epoch id>.<servers' signature>.<time of the loss in ms>`. Written by the epoch's script
 * (which reads the time from Redis itself); here for the test seed and the specs.
 */
export function formatMarker(id: string, signature: string, lossAt: number): string {
  return `${id}.${signature}.${lossAt}`;
}

/** Reads a marker; `undefined` for a value of another shape (a loss: nothing vouches for it). */
export function parseMarker(value: string): HistoryMarker | undefined {
  const parts = value.split('.');
  if (parts.length !== 3 || !EPOCH_ID.test(parts[0]!)) return undefined;
  const lossAt = Number(parts[2]);
  if (!Number.isSafeInteger(lossAt) || lossAt <= 0) return undefined;
  return { id: parts[0]!, signature: parts[1]!, lossAt };
}

/** The loss time of a marker that says there never was one (written by the test seed). */
export const NO_LOSS_AT = 1;
