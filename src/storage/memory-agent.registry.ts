import { Problems } from '../common/problems.js';
import type { AgentRecord, AgentRegistry } from './agent-registry.interface.js';

/**
 * The agent registry in process memory: the default when `REDIS_URL` is unset. It holds at most
 * `maxAgents`: at the cap, agents whose heartbeat timed out are evicted first; when every one is
 * alive, a new registration is refused (503 `REGISTRY_FULL`).
 */
export class MemoryAgentRegistry implements AgentRegistry {
  private readonly agents = new Map<string, AgentRecord>();

  constructor(private readonly maxAgents = 10_000) {}

  /** Atomic in one process: the liveness check and the write are one synchronous step. */
  register(agent: AgentRecord, aliveMs: number): Promise<boolean> {
    const current = this.agents.get(agent.agent_id);
    const aliveSince = agent.registered_at - aliveMs;
    if (current !== undefined && current.last_seen > aliveSince) {
      return Promise.resolve(false);
    }
    if (current === undefined && this.agents.size >= this.maxAgents) {
      for (const [id, record] of this.agents)
        if (record.last_seen <= aliveSince) this.agents.delete(id);
      if (this.agents.size >= this.maxAgents) {
        return Promise.reject(
          Problems.storageFull('REGISTRY_FULL', 'The agent registry is full; try again later'),
        );
      }
    }
    this.agents.set(agent.agent_id, structuredClone(agent));
    return Promise.resolve(true);
  }

  get(agentId: string): Promise<AgentRecord | undefined> {
    const agent = this.agents.get(agentId);
    return Promise.resolve(agent === undefined ? undefined : structuredClone(agent));
  }

  touch(agentId: string, at: number): Promise<AgentRecord | undefined> {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return Promise.resolve(undefined);
    agent.last_seen = at;
    return Promise.resolve(structuredClone(agent));
  }
}
