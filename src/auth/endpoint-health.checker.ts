import { Injectable } from '@nestjs/common';
import type { ComplianceIssue } from '../storage/validation-store.interface.js';

/** The outcome of `GET <endpoint>/health`. */
export interface EndpointCheckResult {
  passed: boolean;
  errors: ComplianceIssue[];
  warnings: ComplianceIssue[];
}

/** Largest health answer read, in bytes: the answer is a tiny JSON object. */
const MAX_BODY = 64 * 1024;

function fail(type: string, message: string): EndpointCheckResult {
  return { passed: false, errors: [{ type, message, field: 'endpoint' }], warnings: [] };
}

/**
 * ARCP's endpoint identity check: the agent's `GET <endpoint>/health` must answer 200 with JSON
 * whose `agent_id` is the one being validated. Redirects are not followed (the check is about
 * this endpoint), and the wait and the size read are bounded.
 */
@Injectable()
export class EndpointHealthChecker {
  async check(endpoint: string, agentId: string, timeoutMs: number): Promise<EndpointCheckResult> {
    const url = new URL('health', endpoint.endsWith('/') ? endpoint : `${endpoint}/`);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      return name === 'TimeoutError' || name === 'AbortError'
        ? fail('endpoint_timeout', `Endpoint did not answer within ${timeoutMs} ms`)
        : fail('endpoint_unreachable', `Endpoint ${url.origin} is unreachable`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return fail('health_check_failed', `Health check returned HTTP ${response.status}`);
    }

    let body: unknown;
    try {
      const text = await readLimited(response, MAX_BODY);
      body = JSON.parse(text);
    } catch {
      return fail('invalid_health_response', 'Health check did not return a JSON object');
    }
    if (typeof body !== 'object' || body === null) {
      return fail('invalid_health_response', 'Health check did not return a JSON object');
    }
    const answer = body as { agent_id?: unknown; status?: unknown };
    if (answer.agent_id !== agentId) {
      return fail('identity_mismatch', `Endpoint reports a different agent_id than ${agentId}`);
    }
    const warnings: ComplianceIssue[] = [];
    if (answer.status !== undefined && answer.status !== 'healthy') {
      const status = JSON.stringify(answer.status);
      warnings.push({ type: 'unhealthy_status', message: `Endpoint reports status ${status}` });
    }
    return { passed: true, errors: [], warnings };
  }
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error('health answer too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
