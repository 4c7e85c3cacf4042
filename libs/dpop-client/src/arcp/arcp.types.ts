/**
 * The ARCP agent-registration contract as the client sees it. Bodies use the wire's snake_case
 * names, so that they read like the ARCP documentation and unknown members pass through.
 */

/** A token and the `Authorization` scheme to present it with. */
export interface IssuedToken {
  readonly value: string;
  /** `DPoP` when the server said `token_type: "DPoP"`, else `Bearer` (RFC 9449 §5 and §7.1). */
  readonly type: 'DPoP' | 'Bearer';
  /** Seconds, as the server reported it. */
  readonly expiresIn?: number;
}

/** A token as methods accept it: an {@link IssuedToken}, or a bare string (sent as Bearer). */
export type TokenInput = string | IssuedToken;

/** Body of `POST /auth/agent/request_temp_token` (phase 1). */
export interface TempTokenRequest {
  agent_id: string;
  agent_type: string;
  agent_key: string;
  [member: string]: unknown;
}

/** 200 answer of `POST /auth/agent/request_temp_token`. */
export interface TempTokenResponse {
  temp_token: string;
  token_type?: string;
  expires_in?: number;
  message?: string;
  [member: string]: unknown;
}

/** Body of `POST /auth/agent/validate_compliance` (phase 2). */
export interface ValidationRequest {
  agent_id: string;
  agent_type: string;
  /** The agent's base URL; the server checks `GET <endpoint>/health`. */
  endpoint: string;
  capabilities: string[];
  communication_mode?: 'remote' | 'local' | 'hybrid';
  version?: string;
  [member: string]: unknown;
}

/** One problem found by compliance validation. */
export interface ValidationIssue {
  type?: string;
  message?: string;
  field?: string;
  details?: unknown;
  [member: string]: unknown;
}

/**
 * A validation's state: the 202 of `validate_compliance` (`pending`, with `polling_url`) and the
 * 200s of `GET /auth/agent/validation/:id` (`pending`, `passed` with `validated_token`, `failed`
 * with `errors`).
 */
export interface ValidationStatusResponse {
  status: 'pending' | 'passed' | 'failed' | (string & {});
  validation_id?: string;
  message?: string;
  polling_url?: string;
  retry_after?: number | null;
  validated_token?: string | null;
  token_type?: string | null;
  expires_in?: number | null;
  errors?: ValidationIssue[] | null;
  warnings?: ValidationIssue[] | null;
  [member: string]: unknown;
}

/** Body of `POST /agents/register` (phase 3). */
export interface AgentRegistration {
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
  communication_mode: 'remote' | 'local' | 'hybrid';
  [member: string]: unknown;
}

/** 200/201 answer of `POST /agents/register`. */
export interface RegistrationResponse {
  status?: string;
  message?: string;
  agent_id: string;
  access_token: string;
  token_type?: string;
  expires_in?: number;
  [member: string]: unknown;
}

/** Answer of `POST /agents/:agent_id/heartbeat`. */
export interface HeartbeatResponse {
  agent_id: string;
  status?: string;
  last_seen?: string;
  [member: string]: unknown;
}

/** Answer of `GET /agents/:agent_id`. */
export interface AgentInfo {
  agent_id: string;
  [member: string]: unknown;
}

/** A server answer plus the token it issued, with its scheme. */
export type WithToken<T> = T & { token: IssuedToken };

/** What {@link ARCPClient.register} went through: each phase's answer. */
export interface RegistrationFlowResult {
  temp: WithToken<TempTokenResponse>;
  validation: WithToken<ValidationStatusResponse>;
  registration: WithToken<RegistrationResponse>;
  /** The agent's access token (also kept by the client for `heartbeat` and `getAgent`). */
  accessToken: IssuedToken;
}

/** Steps reported by {@link ARCPClient.register} as it goes. */
export type RegistrationStep =
  | { phase: 'temp_token'; response: WithToken<TempTokenResponse> }
  | { phase: 'validation_pending'; response: ValidationStatusResponse }
  | { phase: 'validation_passed'; response: WithToken<ValidationStatusResponse> }
  | { phase: 'registered'; response: WithToken<RegistrationResponse> };
