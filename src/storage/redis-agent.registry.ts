import type { AgentRecord, AgentRegistry } from './agent-registry.interface.js';
import { redisCall, type AppRedisClient } from './redis-connection.js';

/**
 * Register unless alive, in one step. KEYS[1] = agent hash; ARGV = data JSON, now (ms),
 * alive window (ms), retention (ms). The hash keeps `last_seen` apart from the JSON so neither script has to
 * decode or re-encode the record.
 */
const REGISTER = `
local seen = redis.call('HGET', KEYS[1], 'last_seen')
if seen and tonumber(seen) > tonumber(ARGV[2]) - tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_seen', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/** Heartbeat: KEYS[1] = agent hash; ARGV[1] = now (ms), ARGV[2] = retention (ms). Returns the data JSON, or nil. */
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HGET', KEYS[1], 'data')
`;

/**
 * The agent registry in Redis: one hash per agent at `<prefix>agent:<id>`. A record expires
 * `retainMs` after its last registration or heartbeat, so agents that went away do not pile up.
 * Each script touches its one key only, so the registry spreads over a Cluster's masters.
 */
export class RedisAgentRegistry implements AgentRegistry {
  constructor(
    private readonly client: AppRedisClient,
    private readonly prefix: string,
    private readonly retainMs: number,
  ) {}

  private key(agentId: string): string {
    return `${this.prefix}agent:${agentId}`;
  }

  async register(agent: AgentRecord, aliveMs: number): Promise<boolean> {
    const { last_seen, ...data } = agent;
    const result = await redisCall(() =>
      this.client.eval(
        REGISTER,
        1,
        this.key(agent.agent_id),
        JSON.stringify(data),
        last_seen,
        aliveMs,
        Math.max(this.retainMs, aliveMs),
      ),
    );
    return result === 1;
  }

  async get(agentId: string): Promise<AgentRecord | undefined> {
    const [data, lastSeen] = await redisCall(() =>
      this.client.hmget(this.key(agentId), 'data', 'last_seen'),
    );
    if (data == null || lastSeen == null) return undefined;
    return { ...(JSON.parse(data) as Omit<AgentRecord, 'last_seen'>), last_seen: Number(lastSeen) };
  }

  async touch(agentId: string, at: number): Promise<AgentRecord | undefined> {
    const data = await redisCall(() =>
      this.client.eval(TOUCH, 1, this.key(agentId), at, this.retainMs),
    );
    if (typeof data !== 'string') return undefined;
    return { ...(JSON.parse(data) as Omit<AgentRecord, 'last_seen'>), last_seen: at };
  }
}
