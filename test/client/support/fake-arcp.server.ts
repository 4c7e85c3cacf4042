import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  DPoPError,
  DPoPProofVerifier,
  InMemoryJtiStore,
  SUPPORTED_DPOP_ALGORITHMS,
} from 'nest-dpop';
import { parseAuthorization } from '../../../src/auth/authorization-header.js';
import { jwsPayload, listen, sendJson, type TestServer } from './http.js';

/**
 * A small ARCP server on node:http that speaks the §2.3 contract and verifies every proof with
 * the server library's `DPoPProofVerifier` (signature, htm, htu, ath, key binding, replay). It
 * exists for what the sample app cannot be made to do on demand: slow or failing validations,
 * foreign polling URLs, nonce demands, Bearer token types, a path prefix.
 */
export interface FakeArcpOptions {
  /** `token_type` of issued tokens. Default `DPoP`. */
  tokenType?: 'DPoP' | 'bearer';
  /** Accepted registration key. Default `test-registration-key-123`. */
  agentKey?: string;
  /** Polls answered `pending` before the outcome. Default 1. */
  pendingPolls?: number;
  /** Default `passed`; `never` stays pending. */
  outcome?: 'passed' | 'failed' | 'never';
  /** The `polling_url` to announce. Default `<base>/auth/agent/validation/<id>`. */
  pollingUrl?: (base: string, id: string) => string;
  /** Every proof must carry this nonce (401 `use_dpop_nonce` challenge otherwise). */
  nonce?: string;
  /** A path prefix the routes live under, e.g. `/arcp`. */
  prefix?: string;
}

/** One request as the server saw it. */
export interface FakeArcpHit {
  method: string;
  path: string;
  /** `DPoP`, `Bearer` or undefined. */
  scheme?: string;
  proof: Record<string, unknown>;
  status: number;
}

interface IssuedTokenRecord {
  kind: 'temp' | 'validated' | 'access';
  agentId: string;
  jkt: string;
}

export interface FakeArcpServer extends TestServer {
  readonly hits: FakeArcpHit[];
  readonly agentKey: string;
}

const PROBLEM_BASE = 'https://arcp.0x001.tech/docs/problems/';

export async function startFakeArcp(options: FakeArcpOptions = {}): Promise<FakeArcpServer> {
  const agentKey = options.agentKey ?? 'test-registration-key-123';
  const prefix = options.prefix ?? '';
  const tokenType = options.tokenType ?? 'DPoP';
  const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), {
    algorithms: [...SUPPORTED_DPOP_ALGORITHMS],
  });
  const tokens = new Map<string, IssuedTokenRecord>();
  const validations = new Map<string, { agentId: string; jkt: string; polls: number }>();
  const agents = new Map<string, Record<string, unknown>>();
  const hits: FakeArcpHit[] = [];
  let base = '';

  const issue = (kind: IssuedTokenRecord['kind'], agentId: string, jkt: string): string => {
    const token = `${kind}.${randomBytes(16).toString('base64url')}`;
    tokens.set(token, { kind, agentId, jkt });
    return token;
  };

  const problem = (
    res: ServerResponse,
    status: number,
    slug: string,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): void => {
    const body = { type: PROBLEM_BASE + slug, title: slug, status, detail, ...extra };
    sendJson(res, status, body, headers);
  };

  const server = await listen(async (req, res, rawBody) => {
    const method = req.method!;
    const url = new URL(req.url!, base);
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const presented = parseAuthorization(req.headers.authorization);
    const proof = jwsPayload(req.headers.dpop);
    const hit: FakeArcpHit = { method, path, scheme: presented?.scheme, proof, status: 0 };
    hits.push(hit);
    const writeHead = res.writeHead.bind(res);
    res.writeHead = (status: number, ...rest: never[]) => {
      hit.status = status;
      return writeHead(status, ...rest);
    };

    // DPoP is required on every route: the proof, its ath and (for tokens) its key.
    const record = presented === undefined ? undefined : tokens.get(presented.token);
    let jkt: string;
    try {
      ({ jkt } = await verifier.verify({
        proof: req.headers.dpop,
        method,
        url: base + url.pathname,
        accessToken: presented?.token,
        expectedJkt: record?.jkt,
      }));
    } catch (error) {
      if (!(error instanceof DPoPError)) throw error;
      const challenge = 'DPoP error="invalid_dpop_proof", algs="EdDSA ES256 RS256"';
      return problem(
        res,
        401,
        'dpop-invalid',
        error.message,
        { code: error.code },
        {
          'WWW-Authenticate': challenge,
        },
      );
    }
    if (options.nonce !== undefined && proof.nonce !== options.nonce) {
      return problem(
        res,
        401,
        'dpop-nonce',
        'nonce required',
        {},
        {
          'WWW-Authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"',
          'DPoP-Nonce': options.nonce,
        },
      );
    }
    const body = rawBody === '' ? {} : (JSON.parse(rawBody) as Record<string, unknown>);
    const needToken = (kind: IssuedTokenRecord['kind']): IssuedTokenRecord | undefined => {
      if (record === undefined || record.kind !== kind) {
        problem(res, 401, 'authentication-failed', `a ${kind} token is required`);
        return undefined;
      }
      // A DPoP token type must come with the DPoP scheme (RFC 9449 §7.1).
      if (tokenType === 'DPoP' && presented?.scheme !== 'DPoP') {
        problem(res, 401, 'dpop-invalid', 'DPoP-bound token presented with the Bearer scheme');
        return undefined;
      }
      return record;
    };

    const validationId = /^\/auth\/agent\/validation\/([\w-]+)$/.exec(path)?.[1];
    const agentRoute = /^\/agents\/([\w-]+)(\/heartbeat)?$/.exec(path);

    if (method === 'POST' && path === '/auth/agent/request_temp_token') {
      if (body.agent_key !== agentKey) {
        const detail = 'Authentication failed: Invalid agent registration key';
        return problem(res, 401, 'authentication-failed', detail);
      }
      return sendJson(res, 200, {
        temp_token: issue('temp', String(body.agent_id), jkt),
        token_type: tokenType,
        expires_in: 900,
        message: 'Temporary token issued.',
      });
    }

    if (method === 'POST' && path === '/auth/agent/validate_compliance') {
      const temp = needToken('temp');
      if (!temp) return;
      const id = `val_${randomBytes(8).toString('hex')}`;
      validations.set(id, { agentId: temp.agentId, jkt, polls: 0 });
      const polling =
        options.pollingUrl?.(base + prefix, id) ?? `${base}${prefix}/auth/agent/validation/${id}`;
      return sendJson(
        res,
        202,
        {
          status: 'pending',
          validation_id: id,
          message: 'Validation in progress.',
          polling_url: polling,
          retry_after: 0,
        },
        { Location: polling, 'Retry-After': '0' },
      );
    }

    if (method === 'GET' && validationId !== undefined) {
      const temp = needToken('temp');
      if (!temp) return;
      const validation = validations.get(validationId);
      if (validation === undefined) {
        return problem(res, 404, 'not-found', 'Validation not found or expired');
      }
      if (validation.agentId !== temp.agentId) {
        return problem(res, 403, 'forbidden', 'Not authorized');
      }
      validation.polls++;
      const outcome = options.outcome ?? 'passed';
      if (outcome === 'never' || validation.polls <= (options.pendingPolls ?? 1)) {
        return sendJson(res, 200, {
          status: 'pending',
          validation_id: validationId,
          message: 'Validation in progress',
          retry_after: 0,
        });
      }
      if (outcome === 'failed') {
        return sendJson(res, 200, {
          status: 'failed',
          validation_id: validationId,
          message: 'Validation failed',
          errors: [
            { type: 'health_check_failed', message: 'GET /health answered 503', field: 'endpoint' },
          ],
          warnings: [],
        });
      }
      return sendJson(res, 200, {
        status: 'passed',
        validation_id: validationId,
        message: 'Validation passed',
        validated_token: issue('validated', temp.agentId, validation.jkt),
        token_type: tokenType,
        expires_in: 300,
      });
    }

    if (method === 'POST' && path === '/agents/register') {
      const validated = needToken('validated');
      if (!validated) return;
      const agentId = validated.agentId;
      if (body.agent_id !== agentId) {
        return problem(res, 403, 'insufficient-permissions', 'agent_id does not match the token');
      }
      if (agents.has(agentId)) {
        return problem(res, 409, 'duplicate-agent', `Agent ${agentId} is already registered.`);
      }
      agents.set(agentId, { ...body, status: 'alive' });
      tokens.delete(presented!.token); // single use
      return sendJson(res, 200, {
        status: 'success',
        message: `Agent '${String(body.name)}' registered successfully`,
        agent_id: agentId,
        access_token: issue('access', agentId, validated.jkt),
        token_type: tokenType,
        expires_in: 3600,
      });
    }

    const heartbeat = agentRoute?.[2] !== undefined;
    if (agentRoute && method === (heartbeat ? 'POST' : 'GET')) {
      const access = needToken('access');
      if (!access) return;
      const agentId = agentRoute[1]!;
      const agent = agents.get(agentId);
      if (agent === undefined) return problem(res, 404, 'agent-not-found', 'Agent not found');
      if (access.agentId !== agentId) {
        return problem(res, 403, 'insufficient-permissions', 'not your agent');
      }
      const answer = heartbeat
        ? { agent_id: agentId, status: 'alive', last_seen: new Date().toISOString() }
        : { agent_id: agentId, name: agent.name, status: agent.status };
      return sendJson(res, 200, answer);
    }
    return problem(res, 404, 'not-found', `no route ${method} ${path}`);
  });
  base = server.url;
  return Object.assign(server, { hits, agentKey });
}
