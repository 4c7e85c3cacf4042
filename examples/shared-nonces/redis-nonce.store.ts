import type { DPoPNonceStorage } from 'nest-dpop-client';

/**
 * An example shared {@link DPoPNonceStorage} (issue 22 item 4): the latest `DPoP-Nonce` of each
 * server origin kept in Redis, so that every worker of one agent (threads, processes, machines)
 * sends the nonce another worker already received, instead of each paying a `use_dpop_nonce`
 * round trip of its own.
 *
 * - **Per origin**: one hash per origin, `<prefix><origin>` → `{ nonce, at }`.
 * - **Newest wins** (RFC 9449 §8.2), atomically: a small Lua script compares `receivedAt` with
 *   the stored one and writes only when it is not older, so a slow worker's late write cannot
 *   bring back a nonce the server has moved on from (a read-then-write from the client could).
 *   The times are each worker's `Date.now()`: workers on different machines want synchronised
 *   clocks (NTP). A skew can cost round trips, never a request: the wrapper answers a challenge
 *   with the nonce of the response itself, whatever the store kept.
 * - **Bounded**: every write sets a TTL (default 5 minutes, longer than servers keep a nonce
 *   valid); an origin nobody talks to any more disappears by itself.
 *
 * A failing Redis does not fail requests: the fetch wrapper ignores a store that rejects, and
 * the server asks for a nonce again.
 *
 * @example
 * ```ts
 * const nonces = new RedisNonceStore(new Redis(process.env.REDIS_URL), { prefix: 'my-agent:nonce:' });
 * const dpopFetch = createDPoPFetch(generator, { nonces });
 * ```
 */
export class RedisNonceStore implements DPoPNonceStorage {
  readonly #redis: RedisNonceClient;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(redis: RedisNonceClient, options: RedisNonceStoreOptions = {}) {
    const ttlSeconds = options.ttlSeconds ?? 300;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new RangeError(`ttlSeconds must be a whole number of seconds >= 1, got ${ttlSeconds}`);
    }
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'dpop-client:nonce:';
    this.#ttlMs = ttlSeconds * 1000;
  }

  /** The Redis key of `origin`'s nonce. */
  keyOf(origin: string): string {
    return `${this.#prefix}${origin}`;
  }

  async get(origin: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.keyOf(origin), 'nonce')) ?? undefined;
  }

  async set(origin: string, nonce: string, receivedAt: number): Promise<void> {
    await this.#redis.eval(SET_IF_NEWER, 1, this.keyOf(origin), nonce, receivedAt, this.#ttlMs);
  }
}

/** Settings of {@link RedisNonceStore}. */
export interface RedisNonceStoreOptions {
  /** Prefix of every key, so that the store's keys are easy to find and never collide. */
  prefix?: string;
  /** How long an origin's nonce is kept after its last write, in seconds. Default 300. */
  ttlSeconds?: number;
}

/** The two commands the store uses: an ioredis `Redis` or `Cluster` (one key per command). */
export interface RedisNonceClient {
  hget(key: string, field: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * KEYS[1] the origin's hash; ARGV nonce, receivedAt (ms), TTL (ms). Writes unless the stored
 * nonce was received later (equal times: the later write wins, as in the memory store).
 * Returns 1 when written, 0 when a newer nonce was kept.
 */
const SET_IF_NEWER = `
local at = tonumber(ARGV[2])
local stored = tonumber(redis.call('HGET', KEYS[1], 'at'))
if stored ~= nil and stored > at then return 0 end
redis.call('HSET', KEYS[1], 'nonce', ARGV[1], 'at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;
