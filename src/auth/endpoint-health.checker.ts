import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import type { ComplianceIssue } from '../storage/validation-store.interface.js';
import { EndpointAllowList, isInternalAddress } from './endpoint-address.policy.js';

/** The outcome of `GET <endpoint>/health`. */
export interface EndpointCheckResult {
  passed: boolean;
  errors: ComplianceIssue[];
  warnings: ComplianceIssue[];
}

/** Largest health answer read, in bytes: the answer is a tiny JSON object. */
const MAX_BODY = 64 * 1024;
/** Redirects followed, each hop checked like the first. */
const MAX_REDIRECTS = 3;

/**
 * What the client is told on any failure. One answer for all causes, so that the check cannot be
 * used to tell a closed port from an HTTP error from a non-JSON answer (the cause is logged at
 * debug level).
 */
const FAILED: EndpointCheckResult = {
  passed: false,
  errors: [
    { type: 'endpoint_check_failed', message: 'Endpoint health check failed', field: 'endpoint' },
  ],
  warnings: [],
};

class CheckFailed extends Error {}

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

/**
 * ARCP's endpoint identity check: the agent's `GET <endpoint>/health` must answer 200 with JSON
 * whose `agent_id` is the one being validated. Every hop (the endpoint, then each redirect, at
 * most 3) is resolved once, every resolved address is checked (no loopback, private, link-local,
 * unique-local, CGNAT, multicast, unspecified or metadata address unless `ARCP_ENDPOINT_ALLOW`
 * names it), and the connection goes to that checked address: DNS cannot answer differently
 * between the check and the connection. The wait (all hops together) and the size read are
 * bounded.
 */
@Injectable()
export class EndpointHealthChecker {
  private readonly logger = new Logger(EndpointHealthChecker.name);
  private readonly allow: EndpointAllowList;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.allow = new EndpointAllowList(config.endpointCheck.allow);
  }

  async check(endpoint: string, agentId: string, timeoutMs: number): Promise<EndpointCheckResult> {
    const signal = AbortSignal.timeout(timeoutMs);
    let url = new URL('health', endpoint.endsWith('/') ? endpoint : `${endpoint}/`);
    try {
      for (let hop = 0; ; hop++) {
        const answer = await this.get(url, signal);
        if (answer.status >= 300 && answer.status < 400 && answer.location !== undefined) {
          if (hop >= MAX_REDIRECTS) throw new CheckFailed(`more than ${MAX_REDIRECTS} redirects`);
          url = new URL(answer.location, url);
          continue;
        }
        if (answer.status !== 200) throw new CheckFailed(`HTTP ${answer.status}`);
        return this.judge(answer.body, agentId);
      }
    } catch (error) {
      const cause = signal.aborted ? `no answer within ${timeoutMs} ms` : String(error);
      this.logger.debug(`Endpoint check of ${url.origin} for ${agentId} failed: ${cause}`);
      return FAILED;
    }
  }

  private judge(text: string, agentId: string): EndpointCheckResult {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CheckFailed('not JSON');
    }
    if (typeof body !== 'object' || body === null) throw new CheckFailed('not a JSON object');
    const answer = body as { agent_id?: unknown; status?: unknown };
    if (answer.agent_id !== agentId) throw new CheckFailed('identity mismatch');
    const warnings: ComplianceIssue[] = [];
    if (answer.status !== undefined && answer.status !== 'healthy') {
      const status = JSON.stringify(answer.status);
      warnings.push({ type: 'unhealthy_status', message: `Endpoint reports status ${status}` });
    }
    return { passed: true, errors: [], warnings };
  }

  /** The address to connect to for `url`, after the policy; throws when it is refused. */
  private async resolve(url: URL): Promise<{ address: string; family: 4 | 6 }> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CheckFailed(`scheme ${url.protocol}`);
    }
    if (url.username !== '' || url.password !== '') throw new CheckFailed('credentials in URL');
    // The WHATWG parser has already turned 0x7f000001, 2130706433 and 127.1 into 127.0.0.1.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const byName = this.allow.allowsHost(host);
    const found =
      isIP(host) !== 0
        ? [{ address: host, family: isIP(host) }]
        : await lookup(host, { all: true, verbatim: true });
    if (found.length === 0) throw new CheckFailed('no address');
    // Every address must pass: a name with one internal address is refused whole.
    for (const { address } of found) {
      if (!byName && isInternalAddress(address) && !this.allow.allowsAddress(address)) {
        throw new CheckFailed(`internal address ${address}`);
      }
    }
    const first = found[0]!;
    return { address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  private async get(url: URL, signal: AbortSignal): Promise<Answer> {
    const target = await this.resolve(url);
    // Connect to the checked address; the URL's host still names the server (Host, SNI).
    const pinned: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) {
        (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
          target,
        ]);
      } else callback(null, target.address, target.family);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Answer>((resolve, reject) => {
      const req = send(
        url,
        { method: 'GET', headers: { accept: 'application/json' }, lookup: pinned, signal },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const location =
            typeof res.headers.location === 'string' ? res.headers.location : undefined;
          if (status !== 200) {
            res.resume();
            resolve({ status, location, body: '' });
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.byteLength;
            if (size > MAX_BODY) {
              req.destroy(new CheckFailed('answer too large'));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status, location, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}
