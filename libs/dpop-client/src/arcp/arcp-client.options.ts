import type {
  AgentRegistration,
  RegistrationStep,
  TokenInput,
  ValidationRequest,
  ValidationStatusResponse,
} from './arcp.types.js';
import type { DPoPGenerator } from '../proof/dpop-generator.js';
import type { DPoPNonceStore } from '../fetch/dpop-nonce.store.js';

/** Options of {@link ARCPClient}. Durations in milliseconds. */
export interface ARCPClientOptions {
  /** The server's base URL, e.g. `https://arcp.example.com` (a path prefix is kept). */
  baseUrl: string | URL;
  /** The agent's key. Its proofs sign every request. */
  generator: DPoPGenerator;
  /** The `fetch` to use. Default: the platform's. */
  fetch?: typeof globalThis.fetch;
  /** Where server nonces are remembered. Default: a store of this client's own. */
  nonces?: DPoPNonceStore;
  /** Abort any single request after this long. Default 30 000. */
  requestTimeoutMs?: number;
  /** Give up polling a validation after this long. Default 300 000 (as the original client). */
  validationTimeoutMs?: number;
  /**
   * Wait this long between polls. Default: the server's `retry_after` (body or `Retry-After`
   * header), else 2000, kept between 100 and `maxPollIntervalMs`.
   */
  pollIntervalMs?: number;
  /** Upper bound on a server-suggested poll interval. Default 10 000. */
  maxPollIntervalMs?: number;
}

/** Per-call options of {@link ARCPClient.validateCompliance}. */
export interface ValidateComplianceOptions {
  validationTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Stops waiting (and any request under way). */
  signal?: AbortSignal;
  /** Called with each `pending` status, e.g. to show progress. */
  onPending?: (status: ValidationStatusResponse) => void;
}

/** Input of {@link ARCPClient.register}: everything the three phases need. */
export interface RegisterOptions {
  /** The registration key the server knows (`AGENT_KEYS`). */
  agent_key: string;
  /** Phase 3's body; phases 1 and 2 take their `agent_id`, `agent_type`, … from it. */
  registration: AgentRegistration;
  /** Extra or overriding members for phase 2's body (e.g. `sbom`, `attestation`). */
  validation?: Partial<ValidationRequest>;
  /** Reports each phase as it completes. */
  onStep?: (step: RegistrationStep) => void;
  signal?: AbortSignal;
  validationTimeoutMs?: number;
  pollIntervalMs?: number;
}

/** Options of {@link ARCPClient.request}. */
export interface ARCPRequestOptions {
  /** The token to present; the proof then carries its `ath`. */
  token?: TokenInput;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/** A parsed answer of {@link ARCPClient.request}. */
export interface ARCPResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}
