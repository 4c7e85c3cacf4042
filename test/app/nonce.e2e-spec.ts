import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  expectProblem,
  newAgentId,
  pollValidation,
  registrationBody,
  send,
  startValidation,
  tempTokenBody,
} from './agent-client.js';
import { bootApp, PUBLIC_URL, type Harness } from './app-harness.js';

describe('DPOP_NONCE_REQUIRED=true in the sample app', () => {
  let h: Harness;
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('EdDSA');
    h = await bootApp({
      env: { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: 'app-nonce-secret-0123456789abcdef' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const path = '/auth/agent/request_temp_token';

  it('answers the token route with 400 {"error":"use_dpop_nonce"} and a DPoP-Nonce (RFC 9449 §8)', async () => {
    const res = await send(h, 'POST', path, { key, body: tempTokenBody(newAgentId()) });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      error: 'use_dpop_nonce',
      error_description:
        'DPoP proof must carry the server nonce: send the request again with a new proof ' +
        'whose nonce claim is the DPoP-Nonce header of this response',
    });
    expect(res.headers['dpop-nonce']).toEqual(expect.any(String));
  });

  it('issues a bound temp token on the retry with the nonce', async () => {
    const first = await send(h, 'POST', path, { key, body: tempTokenBody(newAgentId()) });
    const nonce = first.headers['dpop-nonce'] as string;
    const proof = await makeProof(key, { htm: 'POST', htu: PUBLIC_URL + path, claims: { nonce } });
    const res = await send(h, 'POST', path, { proof, body: tempTokenBody(newAgentId()) });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
  });

  it('answers resource routes with a 401 use_dpop_nonce problem', async () => {
    // A genuine temp token (the guard verifies the token before it looks at the proof).
    const first = await send(h, 'POST', path, { key, body: tempTokenBody(newAgentId()) });
    const nonce = first.headers['dpop-nonce'] as string;
    const proof = await makeProof(key, { htm: 'POST', htu: PUBLIC_URL + path, claims: { nonce } });
    const issued = await send(h, 'POST', path, { proof, body: tempTokenBody(newAgentId()) });
    expect(issued.status).toBe(200);
    const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
      key,
      token: issued.body.temp_token as string,
      body: {},
    });
    expectProblem(res, 401, 'dpop-nonce-required', 'ERR_DPOP_USE_NONCE');
    expect(res.headers['www-authenticate']).toMatch(/^DPoP error="use_dpop_nonce"/);
    expect(res.headers['dpop-nonce']).toEqual(expect.any(String));
  });
});

describe('DPOP_NONCE_REQUIRED=routes in the sample app: a nonce at the token endpoint only', () => {
  let h: Harness;
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('ES256');
    h = await bootApp({
      env: {
        DPOP_NONCE_REQUIRED: 'routes',
        DPOP_NONCE_SECRET: 'app-nonce-secret-0123456789abcdef',
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const path = '/auth/agent/request_temp_token';

  it('answers the token route without a nonce with 400 use_dpop_nonce, and issues with one', async () => {
    const agentId = newAgentId();
    const first = await send(h, 'POST', path, { key, body: tempTokenBody(agentId) });
    expect(first.status).toBe(400);
    expect(first.body).toMatchObject({ error: 'use_dpop_nonce' });
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toEqual(expect.any(String));
    // A made-up nonce is no better than none.
    const forged = await makeProof(key, {
      htm: 'POST',
      htu: PUBLIC_URL + path,
      claims: { nonce: `${nonce}x` },
    });
    const refused = await send(h, 'POST', path, { proof: forged, body: tempTokenBody(agentId) });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'use_dpop_nonce' });

    // With the nonce: a bound temp token; every later step, heartbeat included, without one.
    const proof = await makeProof(key, { htm: 'POST', htu: PUBLIC_URL + path, claims: { nonce } });
    const issued = await send(h, 'POST', path, { proof, body: tempTokenBody(agentId) });
    expect(issued.status).toBe(200);
    const temp = issued.body.temp_token as string;
    const validationId = await startValidation(h, agentId, temp, key);
    const validation = await pollValidation(h, temp, validationId, key);
    expect(validation.body.status).toBe('passed');
    const registered = await send(h, 'POST', '/agents/register', {
      token: validation.body.validated_token as string,
      key,
      body: registrationBody(agentId),
    });
    expect(registered.status).toBe(200);
    const beat = await send(h, 'POST', `/agents/${agentId}/heartbeat`, {
      token: registered.body.access_token as string,
      key,
    });
    expect(beat.status).toBe(200);
    expect(beat.body).toMatchObject({ agent_id: agentId, status: 'alive' });
  });

  it('still issues a bearer temp token to an agent without a proof (DPoP not required)', async () => {
    const res = await send(h, 'POST', path, { body: tempTokenBody(newAgentId()) });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });
});

describe('DPOP_NONCE_REQUIRED unset: the token endpoint takes proofs without a nonce', () => {
  it('issues a bound temp token to a proof without a nonce', async () => {
    const h = await bootApp();
    try {
      const key = await makeKey('EdDSA');
      const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
        key,
        body: tempTokenBody(newAgentId()),
      });
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('DPoP');
      expect(res.headers['dpop-nonce']).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});
