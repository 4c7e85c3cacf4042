import { createHash } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DPOP_CLIENT_ALGORITHMS, DPoPClientError, DPoPGenerator } from 'nest-dpop-client';
import {
  ARCPClient,
  ARCPClientError,
  type AgentRegistration,
  type RegistrationStep,
} from 'nest-dpop-client/arcp';
import { listen, sendJson, type TestServer } from './support/http.js';
import {
  startFakeArcp,
  type FakeArcpOptions,
  type FakeArcpServer,
} from './support/fake-arcp.server.js';

/**
 * ARCPClient against a real HTTP server that verifies every proof with the server library's
 * DPoPProofVerifier (support/fake-arcp.server.ts), for what the sample app cannot be made to do
 * on demand. The run against the sample app itself is flow.e2e-spec.ts.
 */

const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

function registrationFor(agentId: string, generator: DPoPGenerator): AgentRegistration {
  return {
    agent_id: agentId,
    name: 'Test Agent',
    agent_type: 'automation',
    endpoint: 'https://agent.example.com:8443',
    capabilities: ['processing', 'security'],
    context_brief: 'An agent that exists to test the DPoP client.',
    owner: 'tests',
    public_key: generator.publicKeyPem,
    metadata: { suite: 'arcp-client' },
    version: '1.0.0',
    communication_mode: 'remote',
  };
}

const servers: TestServer[] = [];
async function arcp(options?: FakeArcpOptions): Promise<FakeArcpServer> {
  const server = await startFakeArcp(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const polls = (server: FakeArcpServer): unknown[] =>
  server.hits.filter((h) => h.path.startsWith('/auth/agent/validation/'));

describe.each(DPOP_CLIENT_ALGORITHMS)('three-phase registration with %s', (alg) => {
  let generator: DPoPGenerator;
  beforeAll(async () => {
    generator = await DPoPGenerator.generate(alg);
  });

  it('registers, polls, beats and reads back, with a fresh proof and ath each time', async () => {
    const server = await arcp({ pendingPolls: 2 });
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 10 });
    const steps: RegistrationStep['phase'][] = [];

    const result = await client.register({
      agent_key: server.agentKey,
      registration: registrationFor('agent-001', generator),
      onStep: (step) => steps.push(step.phase),
    });

    // The 202 and two polls were pending; the third poll passed.
    expect(steps).toEqual([
      'temp_token',
      'validation_pending',
      'validation_pending',
      'validation_pending',
      'validation_passed',
      'registered',
    ]);
    expect(result.registration).toMatchObject({ status: 'success', agent_id: 'agent-001' });
    expect(result.accessToken).toEqual({
      value: result.registration.access_token,
      type: 'DPoP',
      expiresIn: 3600,
    });
    expect(client.accessToken).toBe(result.accessToken);
    expect(result.temp.token.type).toBe('DPoP');
    expect(result.validation.token.value).toBe(result.validation.validated_token);

    await expect(client.heartbeat('agent-001')).resolves.toMatchObject({ status: 'alive' });
    await expect(client.getAgent('agent-001')).resolves.toMatchObject({ name: 'Test Agent' });

    const validation = `/auth/agent/validation/${result.validation.validation_id}`;
    expect(server.hits.map((h) => [h.method, h.path, h.status, h.scheme])).toEqual([
      ['POST', '/auth/agent/request_temp_token', 200, undefined],
      ['POST', '/auth/agent/validate_compliance', 202, 'DPoP'],
      ['GET', validation, 200, 'DPoP'],
      ['GET', validation, 200, 'DPoP'],
      ['GET', validation, 200, 'DPoP'],
      ['POST', '/agents/register', 200, 'DPoP'],
      ['POST', '/agents/agent-001/heartbeat', 200, 'DPoP'],
      ['GET', '/agents/agent-001', 200, 'DPoP'],
    ]);
    // The server verified each proof (and would have refused a replayed jti); the claims too.
    expect(new Set(server.hits.map((h) => h.proof.jti)).size).toBe(server.hits.length);
    expect(server.hits[0]!.proof).not.toHaveProperty('ath');
    expect(server.hits[1]!.proof.ath).toBe(ath(result.temp.temp_token));
    expect(server.hits[5]!.proof.ath).toBe(ath(result.validation.validated_token!));
    expect(server.hits[6]!.proof.ath).toBe(ath(result.accessToken.value));
  });

  it('refuses a stolen access token used with another key (the binding holds)', async () => {
    const server = await arcp({ pendingPolls: 0 });
    const owner = new ARCPClient({ baseUrl: server.url, generator });
    const { accessToken } = await owner.register({
      agent_key: server.agentKey,
      registration: registrationFor('agent-002', generator),
    });
    const thiefKey = await DPoPGenerator.generate(alg);
    const thief = new ARCPClient({ baseUrl: server.url, generator: thiefKey });

    const error = await thief.heartbeat('agent-002', { accessToken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ARCPClientError);
    expect(error).toMatchObject({
      status: 401,
      code: 'ERR_DPOP_BINDING_MISMATCH',
      problem: {
        type: expect.stringContaining('dpop-invalid'),
        code: 'ERR_DPOP_BINDING_MISMATCH',
      },
    });
  });
});

describe('ARCPClient', () => {
  let generator: DPoPGenerator;
  beforeAll(async () => {
    generator = await DPoPGenerator.generate();
  });

  it('presents Bearer tokens when the server says token_type bearer, still with ath', async () => {
    const server = await arcp({ tokenType: 'bearer', pendingPolls: 0 });
    const client = new ARCPClient({ baseUrl: server.url, generator });
    const { accessToken } = await client.register({
      agent_key: server.agentKey,
      registration: registrationFor('agent-b', generator),
    });
    expect(accessToken.type).toBe('Bearer');
    await client.heartbeat('agent-b');
    expect(server.hits.slice(1).map((h) => h.scheme)).toEqual(Array(4).fill('Bearer'));
    expect(server.hits.at(-1)!.proof.ath).toBe(ath(accessToken.value));
  });

  it('answers a server nonce challenge once, then keeps sending the nonce', async () => {
    const server = await arcp({ nonce: 'srv-nonce-1', pendingPolls: 0 });
    const client = new ARCPClient({ baseUrl: server.url, generator });
    await client.register({
      agent_key: server.agentKey,
      registration: registrationFor('agent-n', generator),
    });
    expect(server.hits.map((h) => [h.path, h.status, h.proof.nonce])).toEqual([
      ['/auth/agent/request_temp_token', 401, undefined],
      ['/auth/agent/request_temp_token', 200, 'srv-nonce-1'],
      ['/auth/agent/validate_compliance', 202, 'srv-nonce-1'],
      [expect.stringMatching(/^\/auth\/agent\/validation\//), 200, 'srv-nonce-1'],
      ['/agents/register', 200, 'srv-nonce-1'],
    ]);
    expect(client.nonces.get(server.url)).toBe('srv-nonce-1');
  });

  it('throws ERR_ARCP_VALIDATION_FAILED with the errors as the problem', async () => {
    const server = await arcp({ outcome: 'failed', pendingPolls: 0 });
    const client = new ARCPClient({ baseUrl: server.url, generator });
    const error = await client
      .register({ agent_key: server.agentKey, registration: registrationFor('agent-f', generator) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ARCPClientError);
    expect(error).toMatchObject({
      code: 'ERR_ARCP_VALIDATION_FAILED',
      message: expect.stringContaining('GET /health answered 503'),
      problem: {
        validation_id: expect.stringMatching(/^val_/),
        errors: [
          { type: 'health_check_failed', message: 'GET /health answered 503', field: 'endpoint' },
        ],
      },
    });
  });

  it('gives up polling after the validation timeout', async () => {
    const server = await arcp({ outcome: 'never' });
    const client = new ARCPClient({
      baseUrl: server.url,
      generator,
      validationTimeoutMs: 300,
      pollIntervalMs: 40,
    });
    const started = Date.now();
    const temp = await client.requestTempToken({
      agent_id: 'agent-t',
      agent_type: 'automation',
      agent_key: server.agentKey,
    });
    await expect(
      client.validateCompliance(temp.token, {
        agent_id: 'agent-t',
        agent_type: 'automation',
        endpoint: 'https://agent.example.com',
        capabilities: ['x'],
      }),
    ).rejects.toMatchObject({ code: 'ERR_ARCP_VALIDATION_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(polls(server).length).toBeGreaterThanOrEqual(3);
  });

  it('polls at most every 100 ms, even when the server says retry_after 0', async () => {
    const server = await arcp({ outcome: 'never' });
    const client = new ARCPClient({ baseUrl: server.url, generator, validationTimeoutMs: 350 });
    const temp = await client.requestTempToken({
      agent_id: 'agent-r',
      agent_type: 'automation',
      agent_key: server.agentKey,
    });
    const request = {
      agent_id: 'agent-r',
      agent_type: 'automation',
      endpoint: 'https://a.example',
      capabilities: ['x'],
    };
    await expect(client.validateCompliance(temp.token, request)).rejects.toMatchObject({
      code: 'ERR_ARCP_VALIDATION_TIMEOUT',
    });
    expect(polls(server).length).toBeLessThanOrEqual(4);
  });

  it('stops polling when aborted', async () => {
    const server = await arcp({ outcome: 'never' });
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 1000 });
    const temp = await client.requestTempToken({
      agent_id: 'agent-a',
      agent_type: 'automation',
      agent_key: server.agentKey,
    });
    const request = {
      agent_id: 'agent-a',
      agent_type: 'automation',
      endpoint: 'https://a.example',
      capabilities: ['x'],
    };
    const signal = AbortSignal.timeout(100);
    await expect(client.validateCompliance(temp.token, request, { signal })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('does not send the temp token to a polling_url on another origin', async () => {
    const elsewhere = await listen((_req, res) =>
      sendJson(res, 200, { status: 'passed', validated_token: 'forged' }),
    );
    servers.push(elsewhere);
    let foreignHits = 0;
    elsewhere.server.on('request', () => foreignHits++);
    const server = await arcp({
      pendingPolls: 0,
      pollingUrl: (_base, id) => `${elsewhere.url}/auth/agent/validation/${id}`,
    });
    const client = new ARCPClient({ baseUrl: server.url, generator });
    await client.register({
      agent_key: server.agentKey,
      registration: registrationFor('agent-o', generator),
    });
    expect(foreignHits).toBe(0);
    expect(polls(server)).toHaveLength(1);
  });

  it('keeps a base URL path prefix', async () => {
    const server = await arcp({ prefix: '/arcp', pendingPolls: 0 });
    const client = new ARCPClient({ baseUrl: `${server.url}/arcp`, generator });
    await client.register({
      agent_key: server.agentKey,
      registration: registrationFor('agent-p', generator),
    });
    expect(server.hits.map((h) => h.status)).toEqual([200, 202, 200, 200]);
  });

  it('carries the server problem on refusals: status, body and a code from its type', async () => {
    const server = await arcp();
    const client = new ARCPClient({ baseUrl: server.url, generator });
    const error = await client
      .requestTempToken({ agent_id: 'agent-x', agent_type: 'automation', agent_key: 'wrong-key-1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ARCPClientError);
    expect(error).toBeInstanceOf(DPoPClientError);
    expect(error).toMatchObject({
      name: 'ARCPClientError',
      status: 401,
      code: 'ERR_ARCP_AUTHENTICATION_FAILED',
      problem: {
        type: 'https://arcp.0x001.tech/docs/problems/authentication-failed',
        detail: 'Authentication failed: Invalid agent registration key',
      },
      message: expect.stringContaining('401'),
    });
  });

  it('reports an unreachable server, a non-JSON answer and a missing token by code', async () => {
    const closed = await listen(() => undefined);
    const deadUrl = closed.url;
    await closed.close();
    const offline = new ARCPClient({ baseUrl: deadUrl, generator });
    await expect(offline.getAgent('x', { accessToken: 't' })).rejects.toMatchObject({
      code: 'ERR_ARCP_NETWORK',
    });

    const html = await listen((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>hello</html>');
    });
    servers.push(html);
    const confused = new ARCPClient({ baseUrl: html.url, generator });
    await expect(confused.getAgent('x', { accessToken: 't' })).rejects.toMatchObject({
      code: 'ERR_ARCP_INVALID_RESPONSE',
      status: 200,
    });

    const unregistered = new ARCPClient({ baseUrl: html.url, generator });
    await expect(unregistered.heartbeat('x')).rejects.toMatchObject({
      code: 'ERR_ARCP_NO_ACCESS_TOKEN',
    });
  });

  it("times out a request that gets no answer, and leaves the caller's abort alone", async () => {
    const silent = await listen(() => undefined);
    servers.push(silent);
    const client = new ARCPClient({ baseUrl: silent.url, generator, requestTimeoutMs: 100 });
    await expect(client.getAgent('x', { accessToken: 't' })).rejects.toMatchObject({
      code: 'ERR_ARCP_REQUEST_TIMEOUT',
    });
    const patient = new ARCPClient({ baseUrl: silent.url, generator });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    await expect(
      patient.getAgent('x', { accessToken: 't', signal: controller.signal }),
    ).rejects.toThrow('user gave up');
  });

  it('summarises a non-JSON error page and takes a code from the DPoP challenge', async () => {
    const proxy = await listen((_req, res) => {
      res.writeHead(401, {
        'Content-Type': 'text/html',
        'WWW-Authenticate': 'DPoP error="invalid_dpop_proof"',
      });
      res.end('<html>\n  <body>denied</body>\n</html>');
    });
    servers.push(proxy);
    const error = await new ARCPClient({ baseUrl: proxy.url, generator })
      .getAgent('x', { accessToken: 't' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, code: 'ERR_ARCP_INVALID_DPOP_PROOF' });
    expect((error as ARCPClientError).problem).toBeUndefined();
    expect((error as Error).message).toContain('<html> <body>denied</body> </html>');
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new ARCPClient({ baseUrl: 'ftp://x', generator })).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_INVALID_REQUEST' }),
    );
  });

  it('makes its own key with create()', async () => {
    const client = await ARCPClient.create({ baseUrl: 'http://127.0.0.1:1', algorithm: 'ES256' });
    expect(client.generator.algorithm).toBe('ES256');
    expect(client.jkt).toBe(client.generator.jkt);
    expect(client.baseUrl).toBe('http://127.0.0.1:1/');
  });
});
