import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { makeKey, makeProof } from '../support/proofs.js';
import {
  expectProblem,
  newAgentId,
  registeredAgent,
  registrationBody,
  send,
  tempTokenBody,
  validatedToken,
} from './agent-client.js';
import { bootApp, PUBLIC_URL, STORES, type Harness } from './app-harness.js';

describe('discovery documents', () => {
  let h: Harness;
  beforeAll(async () => {
    // No ARCP_SIGNING_KEY: the server generates an ES256 key at start-up.
    h = await bootApp({
      env: { DPOP_ALGORITHMS: 'EdDSA,ES256', ARCP_SIGNING_KEY: '', ARCP_SIGNING_ALG: 'ES256' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('builds its links from ARCP_PUBLIC_URL whatever Host says, and may be cached', async () => {
    const res = await request(h.server)
      .get('/.well-known/arcp-configuration')
      .set('Host', 'other-rs.example');
    expect(res.body.token_endpoint).toBe(`${PUBLIC_URL}/auth/agent/request_temp_token`);
    expect(JSON.stringify(res.body)).not.toContain('other-rs.example');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
  });

  it('advertises the endpoints and the configured DPoP algorithms', async () => {
    const res = await send(h, 'GET', '/.well-known/arcp-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: PUBLIC_URL,
      token_endpoint: `${PUBLIC_URL}/auth/agent/request_temp_token`,
      validation_endpoint: `${PUBLIC_URL}/auth/agent/validate_compliance`,
      registration_endpoint: `${PUBLIC_URL}/agents/register`,
      jwks_uri: `${PUBLIC_URL}/.well-known/jwks.json`,
      dpop_signing_alg_values_supported: ['EdDSA', 'ES256'],
      token_signing_alg_values_supported: ['ES256'],
      three_phase_registration_enabled: true,
    });
  });

  it('refuses proofs in an algorithm left out of DPOP_ALGORITHMS', async () => {
    const rsa = await makeKey('RS256');
    const proof = await makeProof(rsa, {
      htm: 'POST',
      htu: `${PUBLIC_URL}/auth/agent/request_temp_token`,
    });
    const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
      proof,
      body: tempTokenBody(newAgentId()),
    });
    expectProblem(res, 401, 'dpop-invalid', 'ERR_DPOP_UNSUPPORTED_ALG');
    expect(res.headers['www-authenticate']).toContain('algs="EdDSA ES256"');
  });

  it('publishes the key that verifies the tokens it issues', async () => {
    const key = await makeKey('EdDSA');
    const { access } = await registeredAgent(h, newAgentId(), key);
    const jwks = await send(h, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
    expect(decodeProtectedHeader(access).kid).toBe(jwks.body.keys[0].kid);

    const { payload } = await jwtVerify(access, createLocalJWKSet(jwks.body), {
      issuer: PUBLIC_URL,
      audience: 'arcp:operations',
    });
    expect(payload.cnf).toEqual({ jkt: key.jkt });
  });

  it('derives links from the request when no public URL is set', async () => {
    const local = await bootApp({ env: { ARCP_PUBLIC_URL: '' } });
    try {
      const res = await request(local.server)
        .get('/.well-known/arcp-configuration')
        .set('Host', 'arcp.internal:8080');
      expect(res.body.token_endpoint).toBe(
        'http://arcp.internal:8080/auth/agent/request_temp_token',
      );
      const smuggled = await request(local.server)
        .get('/.well-known/arcp-configuration')
        .set('Host', 'evil.test/x?');
      expect(smuggled.body.token_endpoint).toMatch(
        /^http:\/\/localhost:\d+\/auth\/agent\/request_temp_token$/,
      );
      // Links built from Host must never sit in a shared cache (finding 3: cache poisoning).
      expect(res.headers.vary).toMatch(/\bHost\b/i);
      expect(res.headers['cache-control']).toMatch(/\b(private|no-store)\b/);
      expect(res.headers['cache-control']).not.toMatch(/\bpublic\b/);
    } finally {
      await local.close();
    }
  });
});

describe.each(STORES)('GET /health (%s store)', (store) => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp({ store, env: { DPOP_REQUIRED: 'true' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers without a proof even when DPoP is required', async () => {
    const res = await send(h, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'healthy',
      storage: { kind: store, up: true },
      dpop: { enabled: true, required: true },
    });
  });
});

describe('problem documents', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('names every invalid field of a body (422 validation-failed)', async () => {
    const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
      body: { agent_id: 'bad id!', agent_type: '', extra: 'ignored' },
    });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'agent_id',
      'agent_key',
      'agent_type',
    ]);
    expect(res.body.detail).toMatch(/^Request validation failed: /);
  });

  it('names nested fields of the registration body', async () => {
    const key = await makeKey('EdDSA');
    const agentId = newAgentId();
    const { validated } = await validatedToken(h, agentId, key);
    const res = await send(h, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId, {
        capabilities: ['ok', 'x', 'bad!'],
        metadata: {},
        version: 'v1',
        endpoint: 'ftp://agent.example.com',
        communication_mode: 'telepathy',
      }),
    });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'capabilities',
      'communication_mode',
      'endpoint',
      'metadata',
      'version',
    ]);
    // A refused body does not spend the validated token.
    const ok = await send(h, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId),
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a body that is not a JSON object', async () => {
    const malformed = await request(h.server)
      .post('/auth/agent/request_temp_token')
      .set('Content-Type', 'application/json')
      .send('{"agent_id": ');
    expectProblem(malformed, 400, 'invalid-input');
    expect(malformed.body.detail).toBe('Request body is not valid JSON');
    const array = await send(h, 'POST', '/auth/agent/request_temp_token', {
      body: [tempTokenBody('a-b-c')],
    });
    expectProblem(array, 422, 'validation-failed');
  });

  it('answers unknown routes with a 404 problem', async () => {
    expectProblem(await send(h, 'GET', '/nowhere'), 404, 'not-found');
  });
});
