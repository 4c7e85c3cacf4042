import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import { decodeJwt, type JWTPayload } from 'jose';
import request, { type Response } from 'supertest';
import { makeProof, type TestKey } from '../support/proofs.js';
import { AGENT_KEY, PUBLIC_URL, type Harness } from './app-harness.js';

export const PROBLEM = 'https://arcp.0x001.tech/docs/problems/';

export interface SendOptions {
  /** Sent as `Authorization: <scheme> <token>`. */
  token?: string;
  /** Default: `DPoP` when a proof goes with the token, else `Bearer`. */
  scheme?: 'DPoP' | 'Bearer';
  /** Signs a fresh proof for this request (with `ath` when there is a token). */
  key?: TestKey;
  /** An exact `DPoP` header (e.g. a replayed proof); wins over `key`. */
  proof?: string;
  body?: object;
}

/** One HTTP request to the app, with a proof made the way a client would make it. */
export async function send(
  h: Harness,
  method: 'GET' | 'POST',
  path: string,
  options: SendOptions = {},
): Promise<Response> {
  const proof =
    options.proof ??
    (options.key === undefined
      ? undefined
      : await makeProof(options.key, {
          htm: method,
          htu: PUBLIC_URL + path,
          ...(options.token !== undefined && { accessToken: options.token }),
        }));
  let req = method === 'GET' ? request(h.server).get(path) : request(h.server).post(path);
  if (options.token !== undefined) {
    const scheme = options.scheme ?? (proof !== undefined ? 'DPoP' : 'Bearer');
    req = req.set('Authorization', `${scheme} ${options.token}`);
  }
  if (proof !== undefined) req = req.set('DPoP', proof);
  return options.body === undefined ? req : req.send(options.body);
}

/** Asserts a problem+json answer; `code` is the DPoP library's stable error code. */
export function expectProblem(res: Response, status: number, slug: string, code?: string): void {
  const body = res.body as Record<string, unknown>;
  // `detail` rides along in the comparison so that a failure shows why the server refused.
  const actual = {
    status: res.status,
    type: body.type,
    ...(code !== undefined && { code: body.code }),
    detail: body.detail,
  };
  expect(actual).toEqual({
    status,
    type: PROBLEM + slug,
    ...(code !== undefined && { code }),
    detail: expect.any(String),
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(typeof body.instance).toBe('string');
}

export function newAgentId(): string {
  return `agent-${randomUUID().slice(0, 8)}`;
}

export function claimsOf(token: string): JWTPayload & Record<string, unknown> {
  return decodeJwt<Record<string, unknown>>(token);
}

export const ENDPOINT = 'https://agent.example.com:8443';

export function tempTokenBody(agentId: string, extra: object = {}): object {
  return { agent_id: agentId, agent_type: 'security', agent_key: AGENT_KEY, ...extra };
}

export function validationBody(agentId: string, extra: object = {}): object {
  return {
    agent_id: agentId,
    agent_type: 'security',
    endpoint: ENDPOINT,
    capabilities: ['test', 'security'],
    communication_mode: 'remote',
    version: '1.0.0',
    ...extra,
  };
}

export function registrationBody(agentId: string, extra: object = {}): object {
  return {
    name: 'Test Agent',
    agent_id: agentId,
    agent_type: 'security',
    endpoint: ENDPOINT,
    capabilities: ['test', 'security'],
    context_brief: 'An agent that exists to be registered by the test suite.',
    owner: 'test-suite',
    public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5',
    metadata: { team: 'qa', tags: ['e2e'], replicas: 1 },
    version: '1.0.0',
    communication_mode: 'remote',
    ...extra,
  };
}

/** Phase 1; asserts success. */
export async function requestTempToken(
  h: Harness,
  agentId: string,
  key?: TestKey,
): Promise<string> {
  const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
    key,
    body: tempTokenBody(agentId),
  });
  expect(res.status).toBe(200);
  return res.body.temp_token as string;
}

/** Phase 2 (submit); asserts the 202 and returns the validation id. */
export async function startValidation(
  h: Harness,
  agentId: string,
  temp: string,
  key?: TestKey,
): Promise<string> {
  const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
    token: temp,
    key,
    body: validationBody(agentId),
  });
  expect(res.status).toBe(202);
  return res.body.validation_id as string;
}

/** Polls until the validation is no longer pending (each poll with a fresh proof). */
export async function pollValidation(
  h: Harness,
  temp: string,
  validationId: string,
  key?: TestKey,
): Promise<Response> {
  const path = `/auth/agent/validation/${validationId}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await send(h, 'GET', path, { token: temp, key });
    if (res.status !== 200 || res.body.status !== 'pending') return res;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`validation ${validationId} stayed pending`);
}

/** Phases 1 and 2: a validated token for `agentId`. */
export async function validatedToken(
  h: Harness,
  agentId: string,
  key?: TestKey,
): Promise<{ temp: string; validated: string; validationId: string }> {
  const temp = await requestTempToken(h, agentId, key);
  const validationId = await startValidation(h, agentId, temp, key);
  const res = await pollValidation(h, temp, validationId, key);
  expect(res.body.status).toBe('passed');
  return { temp, validated: res.body.validated_token as string, validationId };
}

/** All three phases: an access token for `agentId`. */
export async function registeredAgent(
  h: Harness,
  agentId: string,
  key?: TestKey,
): Promise<{ access: string; validated: string; temp: string }> {
  const { temp, validated } = await validatedToken(h, agentId, key);
  const res = await send(h, 'POST', '/agents/register', {
    token: validated,
    key,
    body: registrationBody(agentId),
  });
  expect(res.status).toBe(200);
  return { access: res.body.access_token as string, validated, temp };
}
