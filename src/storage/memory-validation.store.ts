import type { OnModuleDestroy } from '@nestjs/common';
import { Problems } from '../common/problems.js';
import type { ValidationRecord, ValidationStore } from './validation-store.interface.js';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * Validations in process memory: the default when `REDIS_URL` is unset (one instance only).
 * Expired entries are dropped when read and by a periodic sweep. One validation per agent, and
 * at most `maxRecords` in all: at the cap expired, then consumed, records are evicted; if none
 * can be, a new validation is refused (503).
 */
export class MemoryValidationStore implements ValidationStore, OnModuleDestroy {
  private readonly records = new Map<string, Entry<ValidationRecord>>();
  private readonly used = new Map<string, number>();
  /** agent_id → its current validation_id. */
  private readonly latest = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly maxRecords = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.sweep(), 30_000);
    // A sweep timer must never keep the process alive on its own.
    this.timer.unref();
  }

  create(record: ValidationRecord, ttlMs: number): Promise<void> {
    const previous = this.latest.get(record.agent_id);
    if (previous !== undefined) this.drop(previous);
    if (this.records.size >= this.maxRecords) this.makeRoom();
    if (this.records.size >= this.maxRecords) {
      return Promise.reject(
        Problems.storageFull('VALIDATIONS_FULL', 'Too many validations in progress; try later'),
      );
    }
    this.latest.set(record.agent_id, record.validation_id);
    return this.save(record, ttlMs, true);
  }

  save(record: ValidationRecord, ttlMs: number, create = false): Promise<void> {
    if (!create && !this.records.has(record.validation_id)) return Promise.resolve();
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
      this.drop(validationId);
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
    for (const [id, entry] of this.records) if (entry.expiresAt <= now) this.drop(id);
    for (const [id, until] of this.used) if (until <= now) this.used.delete(id);
  }

  /** Expired records first, then consumed ones (their use mark stays, so reuse is still refused). */
  private makeRoom(): void {
    this.sweep();
    for (const id of this.used.keys()) {
      if (this.records.size < this.maxRecords) return;
      this.drop(id);
    }
  }

  private drop(validationId: string): void {
    const entry = this.records.get(validationId);
    this.records.delete(validationId);
    if (entry !== undefined && this.latest.get(entry.value.agent_id) === validationId) {
      this.latest.delete(entry.value.agent_id);
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
