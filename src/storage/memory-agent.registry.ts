import type { AgentRecord, AgentRegistry } from './agent-registry.interface.js';

/** The agent registry in process memory: the default when `REDIS_URL` is unset. */
export class MemoryAgentRegistry implements AgentRegistry {
  private readonly agents = new Map<string, AgentRecord>();

  /** Atomic in one process: the liveness check and the write are one synchronous step. */
  register(agent: AgentRecord, aliveMs: number): Promise<boolean> {
    const current = this.agents.get(agent.agent_id);
    if (current !== undefined && current.last_seen > agent.registered_at - aliveMs) {
      return Promise.resolve(false);
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
