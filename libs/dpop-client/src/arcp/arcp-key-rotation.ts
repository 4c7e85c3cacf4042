import type { ARCPClient } from './arcp.client.js';
import type { RegisterOptions } from './arcp-client.options.js';
import { ARCPClientError } from './arcp.errors.js';
import type {
  AgentInfo,
  AgentRegistration,
  IssuedToken,
  RegistrationFlowResult,
  TokenInput,
} from './arcp.types.js';
import { asToken, isObject, sleep } from './arcp-client.util.js';

/** Input of {@link ARCPClient.rotateKey}. Durations in milliseconds. */
export interface RotateKeyOptions extends Omit<RegisterOptions, 'registration'> {
  /** The agent whose key changes. */
  agent_id: string;
  /** The current registration's access token. Default: the one this client holds. */
  accessToken?: TokenInput;
  /**
   * Phase 3's body for the new registration. Default: the agent's current record (read with
   * the current token), with `public_key` replaced by the new key's when it was the old DPoP
   * key's, and `metadata.dpop_alg`, when the record has one, set to the new key's algorithm.
   * A function receives that default and returns the body to send.
   */
  registration?: AgentRegistration | ((current: AgentRegistration) => AgentRegistration);
  /**
   * How long to wait for the current registration to stop counting as alive (the server's
   * heartbeat timeout after the agent's last heartbeat; ARCP refuses to register a live
   * agent_id again). Default 300 000.
   */
  lapseTimeoutMs?: number;
  /** How often to look while waiting. Default 1000. */
  lapsePollIntervalMs?: number;
  /** Called with the agent's record each time it is still alive. */
  onWaiting?: (agent: AgentInfo) => void;
}

/** What {@link ARCPClient.rotateKey} did. */
export interface KeyRotationResult extends RegistrationFlowResult {
  /** A client with the new key, holding the new access token: the agent's client from now on. */
  client: ARCPClient;
  /** The thumbprint the agent's tokens were bound to before, and the one they are bound to now. */
  previousJkt: string;
  jkt: string;
  /**
   * How the server answered the old token (with a proof from the old key) after the rotation:
   * normally 401 `token-invalid` with `error_code: REGISTRATION_SUPERSEDED`. `undefined` means
   * the server still accepted it, and the old key must be treated as live until it expires.
   */
  oldTokenRefusal: ARCPClientError | undefined;
}

/** Members of a stored agent record that are phase 3's body (the rest is the server's). */
const REGISTRATION_FIELDS = [
  'agent_id',
  'name',
  'agent_type',
  'endpoint',
  'capabilities',
  'context_brief',
  'owner',
  'public_key',
  'metadata',
  'version',
  'communication_mode',
] as const;

/**
 * The key rotation of {@link ARCPClient.rotateKey}: `current` holds the old key, `next` the new
 * one (same server, fetch and nonces).
 */
export async function rotateAgentKey(
  current: ARCPClient,
  next: ARCPClient,
  options: RotateKeyOptions,
): Promise<KeyRotationResult> {
  const { agent_id: agentId, signal } = options;
  if (next.jkt === current.jkt) {
    throw new ARCPClientError(
      'ERR_ARCP_ROTATION_SAME_KEY',
      'the new key is the current key: make a new key pair to rotate to',
    );
  }
  const oldToken = tokenOf(current, options.accessToken);

  // The old token and key must still speak for the agent: this both proves the rotation is the
  // owner's and refuses early (before any new validation) when the agent was taken over.
  let record = await current.getAgent(agentId, { accessToken: oldToken, signal });
  const deadline = Date.now() + (options.lapseTimeoutMs ?? 300_000);
  const interval = Math.max(50, options.lapsePollIntervalMs ?? 1000);
  while (record.status === 'alive') {
    options.onWaiting?.(record);
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new ARCPClientError(
        'ERR_ARCP_AGENT_STILL_ALIVE',
        `agent ${agentId} is still alive (last heartbeat ${String(record.last_seen)}): stop its ` +
          'heartbeats with the old key; the server registers an agent_id again only after its ' +
          'heartbeat timeout',
      );
    }
    await sleep(Math.min(interval, remaining), signal);
    record = await current.getAgent(agentId, { accessToken: oldToken, signal });
  }

  const base = registrationOf(record, current, next);
  const registration =
    typeof options.registration === 'function'
      ? options.registration(base)
      : (options.registration ?? base);
  if (registration.agent_id !== agentId) {
    throw new ARCPClientError(
      'ERR_ARCP_ROTATION_AGENT_ID',
      `the registration is for ${registration.agent_id}, not ${agentId}`,
    );
  }

  const flow = await next.register({ ...options, registration });

  let oldTokenRefusal: ARCPClientError | undefined;
  try {
    await current.getAgent(agentId, { accessToken: oldToken, signal });
  } catch (error) {
    if (!(error instanceof ARCPClientError) || error.status === undefined) throw error;
    oldTokenRefusal = error;
  }
  return { ...flow, client: next, previousJkt: current.jkt, jkt: next.jkt, oldTokenRefusal };
}

function tokenOf(client: ARCPClient, token: TokenInput | undefined): IssuedToken {
  const chosen = token === undefined ? client.accessToken : asToken(token);
  if (chosen === undefined) {
    throw new ARCPClientError(
      'ERR_ARCP_NO_ACCESS_TOKEN',
      'no access token of the current registration: pass accessToken',
    );
  }
  return chosen;
}

/** Phase 3's body from the agent's record, with the new DPoP key's PEM where the old one was. */
function registrationOf(
  record: AgentInfo,
  current: ARCPClient,
  next: ARCPClient,
): AgentRegistration {
  const body: Record<string, unknown> = {};
  for (const field of REGISTRATION_FIELDS) {
    if (record[field] === undefined) {
      throw new ARCPClientError(
        'ERR_ARCP_INVALID_RESPONSE',
        `the agent record has no ${field}: pass registration`,
      );
    }
    body[field] = record[field];
  }
  // Compared trimmed: servers trim the fields they store (a PEM's final newline goes).
  if (String(body.public_key).trim() === current.generator.publicKeyPem.trim()) {
    body.public_key = next.generator.publicKeyPem;
  }
  if (!isObject(body.metadata)) {
    body.metadata = {};
  } else if (body.metadata.dpop_alg !== undefined) {
    // The record says which algorithm the DPoP key signs with (the CLI's register writes it):
    // after a move to, say, EdDSA from ES256, keeping the old name would misdescribe the key.
    body.metadata = { ...body.metadata, dpop_alg: next.generator.algorithm };
  }
  return body as AgentRegistration;
}
