import type { IssuedToken, TokenInput, ValidationStatusResponse } from './arcp.types.js';

/** The small pieces of {@link ARCPClient}: routes, defaults, token values, polling helpers. */

/** ARCP's routes (ARCP reference §2.3). */
export const ROUTES = {
  tempToken: '/auth/agent/request_temp_token',
  validate: '/auth/agent/validate_compliance',
  validation: (id: string) => `/auth/agent/validation/${encodeURIComponent(id)}`,
  register: '/agents/register',
  heartbeat: (agentId: string) => `/agents/${encodeURIComponent(agentId)}/heartbeat`,
  agent: (agentId: string) => `/agents/${encodeURIComponent(agentId)}`,
} as const;

export const DEFAULTS = {
  requestTimeoutMs: 30_000,
  validationTimeoutMs: 300_000,
  pollIntervalMs: 2_000,
  minPollIntervalMs: 100,
  maxPollIntervalMs: 10_000,
} as const;

/** `DPoP` for a DPoP token type (case-insensitive, RFC 9449 §5), else `Bearer`. */
export function tokenTypeOf(tokenType: unknown): 'DPoP' | 'Bearer' {
  return typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
}

/** An {@link IssuedToken} from a server's token value, `token_type` and `expires_in`. */
export function issuedToken(value: string, tokenType?: unknown, expiresIn?: unknown): IssuedToken {
  const token: { value: string; type: 'DPoP' | 'Bearer'; expiresIn?: number } = {
    value,
    type: tokenTypeOf(tokenType),
  };
  if (typeof expiresIn === 'number') token.expiresIn = expiresIn;
  return Object.freeze(token);
}

export function asToken(input: TokenInput): IssuedToken {
  return typeof input === 'string' ? issuedToken(input) : input;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validationName(status: ValidationStatusResponse): string {
  const id = status.validation_id;
  return typeof id === 'string' ? `validation ${id}` : 'validation';
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds in a `retry_after` member or `Retry-After` header (delta-seconds form only). */
export function retryAfterMs(body: ValidationStatusResponse, headers: Headers): number | undefined {
  const fromBody = body.retry_after;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) {
    return fromBody * 1000;
  }
  const header = headers.get('Retry-After');
  return header !== null && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined;
}
