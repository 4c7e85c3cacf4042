import type { OnModuleDestroy } from '@nestjs/common';
import { JtiStoreUnavailableError } from '../errors/dpop.errors.js';
import type { JtiStore, JtiStoreReadiness } from './jti-store.interface.js';

/** Options of {@link InMemoryJtiStore}. */
export interface InMemoryJtiStoreOptions {
  /**
   * Most live jtis kept at once. At the cap, expired entries are swept first; if the store is
   * still full, new proofs are refused (503) rather than forgetting a live jti, which would
   * let its proof be replayed. Default 1,000,000 (about 150 MB at worst).
   */
  maxEntries?: number;
  /** How often expired entries are swept, in milliseconds. Default 10,000. */
  sweepIntervalMs?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * A process-local {@link JtiStore}: the embedded default, right for a single instance.
 * Use {@link RedisJtiStore} when more than one instance serves the same tokens.
 *
 * Entries live in one `Map` per TTL, from replay key to expiry time. Within one map insertion order is expiry order, so a sweep deletes from the front of
 * each and stops at its first live entry: its cost is the number of expired entries, not the
 * size of the store, and a short-lived entry is never stuck behind a long-lived one. The guard
 * records every proof with the same TTL, so there is one map in practice.
 */
export class InMemoryJtiStore implements JtiStore, OnModuleDestroy {
  /** Replay key → expiry (ms), one map per TTL (ms). */
  private readonly byTtl = new Map<number, Map<string, number>>();
  private count = 0;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: InMemoryJtiStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1_000_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new RangeError('InMemoryJtiStore: maxEntries must be a positive integer');
    }
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    // The sweep must never keep a process alive on its own.
    this.timer.unref();
  }

  /**
   * Atomic in one process: the check and the write happen in one synchronous step. The proof's
   * `iat` (third parameter of {@link JtiStore.recordIfNew}) is not needed: this store cannot lose
   * its history without losing the process, and with it every proof's acceptance.
   */
  recordIfNew(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    for (const entries of this.byTtl.values()) {
      const expiry = entries.get(key);
      if (expiry === undefined) continue;
      if (expiry > now) return Promise.resolve(false);
      // Expired but not yet swept: forget it so the new entry goes to the back (expiry order).
      entries.delete(key);
      this.count--;
    }
    if (this.count >= this.maxEntries) {
      this.sweep();
      if (this.count >= this.maxEntries) return Promise.reject(this.full(now));
    }
    let entries = this.byTtl.get(ttlMs);
    if (entries === undefined) this.byTtl.set(ttlMs, (entries = new Map()));
    entries.set(key, now + ttlMs);
    this.count++;
    return Promise.resolve(true);
  }

  /**
   * A fresh proof would be recorded unless the store is full (then it rejects as
   * {@link recordIfNew} would). Writes nothing. See {@link JtiStore.probe}.
   */
  probe(): Promise<JtiStoreReadiness> {
    if (this.count >= this.maxEntries) this.sweep();
    return this.count >= this.maxEntries
      ? Promise.reject(this.full(this.now()))
      : Promise.resolve('ready');
  }

  /** Number of entries held, expired-but-unswept included. */
  get size(): number {
    return this.count;
  }

  /**
   * Deletes expired entries from the front of each map, stopping at its first live one.
   * @returns how many entries were deleted
   */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [ttl, entries] of this.byTtl) {
      for (const [key, expiry] of entries) {
        if (expiry > now) break;
        entries.delete(key);
        removed++;
      }
      if (entries.size === 0) this.byTtl.delete(ttl);
    }
    this.count -= removed;
    return removed;
  }

  /** Forgets everything (for tests). */
  clear(): void {
    this.byTtl.clear();
    this.count = 0;
  }

  /** Stops the sweep timer. */
  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Full: the real wait is until the entry that expires first does. */
  private full(now: number): JtiStoreUnavailableError {
    let first = Infinity;
    for (const entries of this.byTtl.values()) {
      const front = entries.values().next().value;
      if (front !== undefined && front < first) first = front;
    }
    const retryAfter = Number.isFinite(first) ? Math.max(1, Math.ceil((first - now) / 1000)) : 1;
    return new JtiStoreUnavailableError('DPoP replay store is full; try again later', {
      retryAfter,
    });
  }
}
