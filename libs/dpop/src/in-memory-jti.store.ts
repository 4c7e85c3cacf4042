import { OnModuleDestroy } from '@nestjs/common';
import { JtiStoreUnavailableError } from './dpop.errors.js';
import { JtiStore } from './jti-store.interface.js';

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
 * Entries live in one `Map` from replay key to expiry time. Because the guard always records with the
 * same TTL, insertion order is expiry order, so a sweep deletes from the front and stops at the
 * first live entry: its cost is the number of expired entries, not the size of the map.
 */
export class InMemoryJtiStore implements JtiStore, OnModuleDestroy {
  private readonly entries = new Map<string, number>();
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
    const expiry = this.entries.get(key);
    if (expiry !== undefined) {
      if (expiry > now) return Promise.resolve(false);
      // Expired but not yet swept: forget it so the new entry goes to the back (expiry order).
      this.entries.delete(key);
    }
    if (this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) {
        return Promise.reject(
          new JtiStoreUnavailableError('DPoP replay store is full; try again later'),
        );
      }
    }
    this.entries.set(key, now + ttlMs);
    return Promise.resolve(true);
  }

  /** Number of entries held, expired-but-unswept included. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Deletes expired entries from the front of the map, stopping at the first live one.
   * @returns how many entries were deleted
   */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [key, expiry] of this.entries) {
      if (expiry > now) break;
      this.entries.delete(key);
      removed++;
    }
    return removed;
  }

  /** Forgets everything (for tests). */
  clear(): void {
    this.entries.clear();
  }

  /** Stops the sweep timer. */
  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
