import type { Redis } from 'ioredis';
import { redisCall } from './redis-connection.js';
import type { ValidationRecord, ValidationStore } from './validation-store.interface.js';

/**
 * KEYS[1] = the agent's current-validation pointer, KEYS[2] = the new record; ARGV = new id,
 * record JSON, ttl (ms), record key prefix.
 */
const CREATE = `
local previous = redis.call('GET', KEYS[1])
if previous and previous ~= ARGV[1] then redis.call('DEL', ARGV[4] .. previous) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`;

/**
 * Validations in Redis, shared by every instance: `<prefix>val:<id>` holds the record as JSON
 * with a TTL, and `<prefix>val:used:<id>` marks it consumed.
 */
export class RedisValidationStore implements ValidationStore {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  /** One script: the agent's previous validation is deleted and the new one becomes current. */
  async create(record: ValidationRecord, ttlMs: number): Promise<void> {
    await redisCall(() =>
      this.client.eval(
        CREATE,
        2,
        `${this.prefix}val:agent:${record.agent_id}`,
        `${this.prefix}val:${record.validation_id}`,
        record.validation_id,
        JSON.stringify(record),
        ttlMs,
        `${this.prefix}val:`,
      ),
    );
  }

  /** `SET … XX`: a replaced or expired record is not brought back. */
  async save(record: ValidationRecord, ttlMs: number): Promise<void> {
    const key = `${this.prefix}val:${record.validation_id}`;
    await redisCall(() => this.client.set(key, JSON.stringify(record), 'PX', ttlMs, 'XX'));
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
