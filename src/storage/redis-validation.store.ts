import type { Redis } from 'ioredis';
import { redisCall } from './redis-connection.js';
import type { ValidationRecord, ValidationStore } from './validation-store.interface.js';

/**
 * Validations in Redis, shared by every instance: `<prefix>val:<id>` holds the record as JSON
 * with a TTL, and `<prefix>val:used:<id>` marks it consumed.
 */
export class RedisValidationStore implements ValidationStore {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  async save(record: ValidationRecord, ttlMs: number): Promise<void> {
    const key = `${this.prefix}val:${record.validation_id}`;
    await redisCall(() => this.client.set(key, JSON.stringify(record), 'PX', ttlMs));
  }

  async get(validationId: string): Promise<ValidationRecord | undefined> {
    const raw = await redisCall(() => this.client.get(`${this.prefix}val:${validationId}`));
    return raw === null ? undefined : (JSON.parse(raw) as ValidationRecord);
  }

  /** One atomic `SET … NX PX`: never "exists?" then "set", which two requests can both pass. */
  async consume(validationId: string, ttlMs: number): Promise<boolean> {
    const result = await redisCall(() =>
      this.client.set(`${this.prefix}val:used:${validationId}`, '1', 'PX', ttlMs, 'NX'),
    );
    return result === 'OK';
  }
}
