import { redisCall, type AppRedisClient } from './redis-connection.js';
import type { ValidationRecord, ValidationStore } from './validation-store.interface.js';

/**
 * KEYS[1] = the agent's current-validation pointer, KEYS[2] = the new record; ARGV = new id,
 * record JSON, ttl (ms), record key prefix. The previous record's key is built in the script:
 * it is not known before, and it shares the `{val}` hash tag (the slot) of the declared keys.
 */
const CREATE = `
local previous = redis.call('GET', KEYS[1])
if previous and previous ~= ARGV[1] then redis.call('DEL', ARGV[4] .. previous) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`;

/**
 * Validations in Redis, shared by every instance: `<prefix>{val}:<id>` holds the record as JSON
 * with a TTL, `<prefix>{val}:agent:<agent_id>` names an agent's current one, and
 * `<prefix>val:used:<id>` marks it consumed.
 *
 * On a Redis Cluster the records and pointers share the `{val}` hash tag, so that the script
 * that replaces an agent's validation runs on one master (a script's keys must share a slot).
 * Validations are few (one per registration, minutes long), so one slot holds them easily; the
 * use marks, single keys, spread over the masters.
 */
export class RedisValidationStore implements ValidationStore {
  /** Prefix of records and pointers: one hash tag, one slot (see the class comment). */
  private readonly records: string;

  constructor(
    private readonly client: AppRedisClient,
    private readonly prefix: string,
  ) {
    this.records = `${prefix}{val}:`;
  }

  /** One script: the agent's previous validation is deleted and the new one becomes current. */
  async create(record: ValidationRecord, ttlMs: number): Promise<void> {
    await redisCall(() =>
      this.client.eval(
        CREATE,
        2,
        `${this.records}agent:${record.agent_id}`,
        this.records + record.validation_id,
        record.validation_id,
        JSON.stringify(record),
        ttlMs,
        this.records,
      ),
    );
  }

  /** `SET … XX`: a replaced or expired record is not brought back. */
  async save(record: ValidationRecord, ttlMs: number): Promise<void> {
    const key = this.records + record.validation_id;
    await redisCall(() => this.client.set(key, JSON.stringify(record), 'PX', ttlMs, 'XX'));
  }

  async get(validationId: string): Promise<ValidationRecord | undefined> {
    const raw = await redisCall(() => this.client.get(this.records + validationId));
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
