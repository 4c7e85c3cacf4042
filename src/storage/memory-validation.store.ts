import type { OnModuleDestroy } from '@nestjs/common';
import type { ValidationRecord, ValidationStore } from './validation-store.interface.js';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * Validations in process memory: the default when `REDIS_URL` is unset (one instance only).
 * Expired entries are dropped when read and by a periodic sweep.
 */
export class MemoryValidationStore implements ValidationStore, OnModuleDestroy {
  private readonly records = new Map<string, Entry<ValidationRecord>>();
  private readonly used = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.sweep(), 30_000);
    // A sweep timer must never keep the process alive on its own.
    this.timer.unref();
  }

  save(record: ValidationRecord, ttlMs: number): Promise<void> {
    // A copy, so that callers cannot change what is stored (as with a real store).
    this.records.set(record.validation_id, {
      value: structuredClone(record),
      expiresAt: this.now() + ttlMs,
    });
    return Promise.resolve();
  }

  get(validationId: string): Promise<ValidationRecord | undefined> {
    const entry = this.records.get(validationId);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.expiresAt <= this.now()) {
      this.records.delete(validationId);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(structuredClone(entry.value));
  }

  /** Atomic in one process: the check and the write are one synchronous step. */
  consume(validationId: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const until = this.used.get(validationId);
    if (until !== undefined && until > now) return Promise.resolve(false);
    this.used.set(validationId, now + ttlMs);
    return Promise.resolve(true);
  }

  sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.records) if (entry.expiresAt <= now) this.records.delete(id);
    for (const [id, until] of this.used) if (until <= now) this.used.delete(id);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
