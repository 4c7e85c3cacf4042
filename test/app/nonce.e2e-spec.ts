import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { expectProblem, newAgentId, send, tempTokenBody } from './agent-client.js';
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
