import type { CommunicationMode } from './validation-store.interface.js';

/** A registered agent, as stored. Times are milliseconds since the epoch. */
export interface AgentRecord {
  agent_id: string;
  name: string;
  agent_type: string;
  endpoint: string;
  capabilities: string[];
  context_brief: string;
  owner: string;
  public_key: string;
  metadata: Record<string, unknown>;
  version: string;
  communication_mode: CommunicationMode;
  /** The DPoP key the agent's access tokens are bound to, if any. */
  dpop_jkt?: string;
  validation_id: string;
  /**
   * This registration's id (`reg_` + 32 hex), new each time the agent_id is registered, and
   * carried by its access tokens: a token authorizes exactly the registration it was issued for.
   */
  registration_id: string;
  registered_at: number;
  last_seen: number;
}

/** The agent registry. */
export interface AgentRegistry {
  /**
   * Stores the agent unless an agent with the same id was seen less than `aliveMs` ago, as one
   * atomic step (two registrations racing for one id cannot both win).
   * @returns `false` when a live agent holds the id
   */
  register(agent: AgentRecord, aliveMs: number): Promise<boolean>;
  get(agentId: string): Promise<AgentRecord | undefined>;
  /** Sets `last_seen`; `undefined` when the agent is unknown. */
  touch(agentId: string, at: number): Promise<AgentRecord | undefined>;
}

/** Injection token of the {@link AgentRegistry}. */
export const AgentRegistry = Symbol('AgentRegistry');

/** What `/health` reports about storage. */
export interface StorageProbe {
  readonly kind: 'memory' | 'redis';
  /** Resolves `true` when the backing store answers. */
  ping(): Promise<boolean>;
}

/** Injection token of the {@link StorageProbe}. */
export const StorageProbe = Symbol('StorageProbe');
