import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DPOP_CLIENT_ALGORITHMS, DPoPGenerator } from 'nest-dpop-client';
import { ARCPClient, ARCPClientError, type AgentRegistration } from 'nest-dpop-client/arcp';
import { decodeJwt } from 'jose';
import { runDemo } from '../../examples/arcp-demo/demo.js';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { listen, sendJson, type TestServer } from './support/http.js';

/**
 * The client through all three phases against the real sample app (src/), over real HTTP on
 * 127.0.0.1, for each algorithm; then the app's stricter modes, and the demo itself.
 */

const AGENT_KEY = 'client-flow-agent-key-0123456789';
/** The client signs with every algorithm: the app accepts them all here (most are opt-in). */
const ALL_ALGORITHMS = DPOP_CLIENT_ALGORITHMS.join(',');
let counter = 0;
const newAgentId = (): string => `flow-agent-${process.pid}-${counter++}`;

function registration(
  agentId: string,
  generator: DPoPGenerator,
  endpoint = 'https://agent.example.com:8443',
): AgentRegistration {
  return {
    agent_id: agentId,
    name: 'Flow Agent',
    agent_type: 'automation',
    endpoint,
    capabilities: ['processing', 'monitoring'],
    context_brief: 'An agent registered by the client flow tests.',
    owner: 'client-tests',
    public_key: generator.publicKeyPem,
    metadata: { suite: 'flow' },
    version: '1.0.0',
    communication_mode: 'remote',
  };
}

describe('against the sample app with its defaults (DPoP optional)', () => {
  let server: SampleServer;
  beforeAll(async () => {
    server = await startSampleServer({ AGENT_KEYS: AGENT_KEY, DPOP_ALGORITHMS: ALL_ALGORITHMS });
  });
  afterAll(async () => {
    await server.close();
  });

  describe.each(DPOP_CLIENT_ALGORITHMS)('with %s', (alg) => {
    let generator: DPoPGenerator;
    beforeAll(async () => {
      generator = await DPoPGenerator.generate(alg);
    });

    it('registers in three phases with every token bound to the key, beats, reads', async () => {
      const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
      const agentId = newAgentId();
      const result = await client.register({
        agent_key: AGENT_KEY,
        registration: registration(agentId, generator),
      });

      for (const token of [result.temp.token, result.validation.token, result.accessToken]) {
        expect(token.type).toBe('DPoP');
        expect(decodeJwt(token.value).cnf).toEqual({ jkt: generator.jkt });
      }
      expect(result.temp).toMatchObject({ token_type: 'DPoP', expires_in: 900 });
      expect(result.validation).toMatchObject({
        status: 'passed',
        validation_id: expect.stringMatching(/^val_[0-9a-f]{16}$/),
      });
      expect(result.registration).toMatchObject({
        status: 'success',
        agent_id: agentId,
        message: "Agent 'Flow Agent' registered successfully",
        token_type: 'DPoP',
      });
      expect(decodeJwt(result.accessToken.value)).toMatchObject({
        agent_id: agentId,
        token_type: 'access',
      });

      await expect(client.heartbeat(agentId)).resolves.toMatchObject({
        agent_id: agentId,
        status: 'alive',
      });
      await expect(client.getAgent(agentId)).resolves.toMatchObject({
        agent_id: agentId,
        name: 'Flow Agent',
        status: 'alive',
      });
    });

    it("refuses another key with the agent's temp, validated or access token", async () => {
      const owner = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
      const thief = new ARCPClient({
        baseUrl: server.url,
        generator: await DPoPGenerator.generate(alg),
        pollIntervalMs: 25,
      });
      const agentId = newAgentId();
      const reg = registration(agentId, generator);

      const temp = await owner.requestTempToken({
        agent_id: agentId,
        agent_type: 'automation',
        agent_key: AGENT_KEY,
      });
      const request = {
        agent_id: agentId,
        agent_type: 'automation',
        endpoint: reg.endpoint,
        capabilities: reg.capabilities,
      };
      await expect(thief.validateCompliance(temp.token, request)).rejects.toMatchObject({
        status: 401,
        code: 'ERR_DPOP_BINDING_MISMATCH',
      });

      const validation = await owner.validateCompliance(temp.token, request);
      await expect(thief.registerAgent(validation.token, reg)).rejects.toMatchObject({
        code: 'ERR_DPOP_BINDING_MISMATCH',
      });

      const registered = await owner.registerAgent(validation.token, reg);
      const error = await thief
        .heartbeat(agentId, { accessToken: registered.token })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ARCPClientError);
      expect(error).toMatchObject({
        status: 401,
        code: 'ERR_DPOP_BINDING_MISMATCH',
        problem: {
          type: 'https://arcp.0x001.tech/docs/problems/dpop-binding-mismatch',
          instance: `/agents/${agentId}/heartbeat`,
        },
      });
      // The owner is unaffected.
      await expect(owner.heartbeat(agentId)).resolves.toMatchObject({ status: 'alive' });
    });
  });

  it("reports the app's refusals with their problem bodies", async () => {
    const generator = await DPoPGenerator.generate();
    const client = new ARCPClient({ baseUrl: server.url, generator });
    const error = await client
      .requestTempToken({
        agent_id: newAgentId(),
        agent_type: 'automation',
        agent_key: 'wrong-key-0123456789',
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 401,
      code: 'ERR_ARCP_AUTHENTICATION_FAILED',
      problem: {
        type: 'https://arcp.0x001.tech/docs/problems/authentication-failed',
        detail: 'Authentication failed: Invalid agent registration key',
      },
    });
  });

  it('runs the demo against it (--url mode)', async () => {
    const lines: string[] = [];
    const result = await runDemo({
      url: server.url,
      agentKey: AGENT_KEY,
      alg: 'ES256',
      print: (l) => lines.push(l),
      pollIntervalMs: 25,
    });
    expect(result.ok).toBe(true);
    expect(result.refusals).toEqual([
      'ERR_DPOP_BINDING_MISMATCH',
      'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
      'ERR_DPOP_REPLAY',
    ]);
    const output = lines.join('\n');
    expect(output).toContain('✓ validation passed: validated token (DPoP), bound to our key');
    expect(output).toContain('Done: registered over DPoP, and the stolen token was useless.');
  });
});

describe('against the sample app with DPOP_REQUIRED=true and the endpoint check on', () => {
  let server: SampleServer;
  let agentEndpoint: TestServer;
  /** What the agent's /health says its id is. */
  let healthAgentId = '';

  beforeAll(async () => {
    agentEndpoint = await listen((req, res) =>
      req.url === '/health'
        ? sendJson(res, 200, { agent_id: healthAgentId, status: 'healthy' })
        : sendJson(res, 404, {}),
    );
    server = await startSampleServer({
      AGENT_KEYS: AGENT_KEY,
      DPOP_ALGORITHMS: ALL_ALGORITHMS,
      DPOP_REQUIRED: 'true',
      ARCP_ENDPOINT_CHECK: 'true',
      // The test agent listens on loopback, which the endpoint check refuses unless allowed.
      ARCP_ENDPOINT_ALLOW: '127.0.0.1,::1',
    });
  });
  afterAll(async () => {
    await server.close();
    await agentEndpoint.close();
  });

  it('refuses a request without a proof', async () => {
    const res = await fetch(`${server.url}/auth/agent/request_temp_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        agent_id: 'no-proof',
        agent_type: 'automation',
        agent_key: AGENT_KEY,
      }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'ERR_DPOP_MISSING' });
  });

  it.each(DPOP_CLIENT_ALGORITHMS)('registers with %s, the endpoint vouching', async (alg) => {
    const generator = await DPoPGenerator.generate(alg);
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
    healthAgentId = newAgentId();
    const result = await client.register({
      agent_key: AGENT_KEY,
      registration: registration(healthAgentId, generator, agentEndpoint.url),
    });
    expect(result.validation.endpoint_check).toBe('passed');
    await expect(client.heartbeat(healthAgentId)).resolves.toMatchObject({ status: 'alive' });
  });

  it("fails validation (ERR_ARCP_VALIDATION_FAILED) for another agent's endpoint", async () => {
    const generator = await DPoPGenerator.generate();
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
    healthAgentId = 'somebody-else';
    const error = await client
      .register({
        agent_key: AGENT_KEY,
        registration: registration(newAgentId(), generator, agentEndpoint.url),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ARCPClientError);
    expect(error).toMatchObject({
      code: 'ERR_ARCP_VALIDATION_FAILED',
      problem: {
        // One generic failure, whatever the cause (here another agent_id).
        errors: [expect.objectContaining({ type: 'endpoint_check_failed', field: 'endpoint' })],
      },
    });
  });
});

describe('against the sample app with DPOP_NONCE_REQUIRED=true', () => {
  let server: SampleServer;
  beforeAll(async () => {
    server = await startSampleServer({
      AGENT_KEYS: AGENT_KEY,
      DPOP_ALGORITHMS: ALL_ALGORITHMS,
      DPOP_NONCE_REQUIRED: 'true',
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(DPOP_CLIENT_ALGORITHMS)('registers with %s, meeting one nonce challenge', async (alg) => {
    const generator = await DPoPGenerator.generate(alg);
    const statuses: number[] = [];
    const countingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const client = new ARCPClient({
      baseUrl: server.url,
      generator,
      fetch: countingFetch,
      pollIntervalMs: 25,
    });
    const agentId = newAgentId();
    await client.register({ agent_key: AGENT_KEY, registration: registration(agentId, generator) });
    await client.heartbeat(agentId);
    // One challenge, at the first request (the token route: 400 as RFC 9449 §8 says); every
    // later proof carried the remembered nonce.
    expect(statuses[0]).toBe(400);
    expect(statuses.slice(1).every((status) => status < 300)).toBe(true);
    expect(client.nonces.get(server.url)).toEqual(expect.any(String));
  });
});

describe('npm run demo', () => {
  it('starts the sample app itself when no URL is given, and succeeds', async () => {
    const lines: string[] = [];
    const result = await runDemo({ print: (l) => lines.push(l), pollIntervalMs: 25 });
    expect(result.ok).toBe(true);
    expect(result.refusals).toHaveLength(3);
    expect(lines.join('\n')).toMatch(
      /Server {5}http:\/\/127\.0\.0\.1:\d+ {2}\(the sample app, started in this process/,
    );
  });
});
