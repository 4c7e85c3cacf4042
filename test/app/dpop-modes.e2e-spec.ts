import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  claimsOf,
  expectProblem,
  newAgentId,
  pollValidation,
  registeredAgent,
  registrationBody,
  requestTempToken,
  send,
  startValidation,
  tempTokenBody,
  validationBody,
} from './agent-client.js';
import { bootApp, PUBLIC_URL, type Harness } from './app-harness.js';
import { forgeToken, KIND } from './forge.js';

let key: TestKey;
let other: TestKey;
beforeAll(async () => {
  key = await makeKey('ES256');
  other = await makeKey('EdDSA');
});

describe('DPOP_REQUIRED=true', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp({ env: { DPOP_REQUIRED: 'true' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses phase 1 without a proof (401 dpop-required, no error in the challenge)', async () => {
    const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
      body: tempTokenBody(newAgentId()),
    });
    expectProblem(res, 401, 'dpop-required', 'ERR_DPOP_MISSING');
    expect(res.headers['www-authenticate']).toBe('DPoP algs="EdDSA Ed25519 ES256 RS256"');
  });

  it('refuses the later phases without a proof', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(h, agentId, key);
    const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: temp,
      body: validationBody(agentId),
    });
    expectProblem(res, 401, 'dpop-required', 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
  });

  it('registers an agent when every request carries a proof', async () => {
    const agentId = newAgentId();
    const { access } = await registeredAgent(h, agentId, key);
    expect(claimsOf(access).cnf).toEqual({ jkt: key.jkt });
    const ok = await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: access, key });
    expect(ok.status).toBe(200);
  });

  it('keeps /health and discovery public, and says DPoP is required', async () => {
    const health = await send(h, 'GET', '/health');
    expect(health.status).toBe(200);
    const config = await send(h, 'GET', '/.well-known/arcp-configuration');
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({ dpop_enabled: true, dpop_required: true });
    const jwks = await send(h, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
  });
});

describe('DPoP optional (the default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs the flow without any proof: Bearer tokens, none bound', async () => {
    const agentId = newAgentId();
    const temp = await send(h, 'POST', '/auth/agent/request_temp_token', {
      body: tempTokenBody(agentId),
    });
    expect(temp.body.token_type).toBe('Bearer');
    expect(claimsOf(temp.body.temp_token).cnf).toBeUndefined();

    const validationId = await startValidation(h, agentId, temp.body.temp_token);
    const passed = await pollValidation(h, temp.body.temp_token, validationId);
    expect(passed.body).toMatchObject({ status: 'passed', token_type: 'Bearer' });
    expect(claimsOf(passed.body.validated_token).cnf).toBeUndefined();

    const registered = await send(h, 'POST', '/agents/register', {
      token: passed.body.validated_token,
      body: registrationBody(agentId),
    });
    expect(registered.status).toBe(200);
    expect(registered.body.token_type).toBe('Bearer');
    expect(claimsOf(registered.body.access_token).cnf).toBeUndefined();

    // The agent's own routes are @DPoPBound(): with DPoP on, an unbound token is not enough.
    const beat = await send(h, 'POST', `/agents/${agentId}/heartbeat`, {
      token: registered.body.access_token,
    });
    expectProblem(beat, 401, 'token-not-dpop-bound', 'ERR_DPOP_TOKEN_NOT_BOUND');
  });

  it('binds to the key of the first proof when it comes at validate_compliance', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(h, agentId); // no proof: an unbound temp token
    expect(claimsOf(temp).cnf).toBeUndefined();
    const validationId = await startValidation(h, agentId, temp, key);

    const path = `/auth/agent/validation/${validationId}`;
    // The result is bound to that key: no proof, or another key's proof, cannot collect it.
    const done = await pollValidation(h, temp, validationId, key);
    expect(done.body.status).toBe('passed');
    expectProblem(
      await send(h, 'GET', path, { token: temp }),
      401,
      'dpop-required',
      'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
    );
    expectProblem(
      await send(h, 'GET', path, { token: temp, key: other }),
      401,
      'dpop-binding-mismatch',
      'ERR_DPOP_BINDING_MISMATCH',
    );

    const validated = done.body.validated_token as string;
    expect(done.body.token_type).toBe('DPoP');
    expect(claimsOf(validated).cnf).toEqual({ jkt: key.jkt });
    const stolen = await send(h, 'POST', '/agents/register', {
      token: validated,
      key: other,
      body: registrationBody(agentId),
    });
    expectProblem(stolen, 401, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');

    const registered = await send(h, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId),
    });
    expect(registered.status).toBe(200);
    expect(claimsOf(registered.body.access_token).cnf).toEqual({ jkt: key.jkt });
    const ok = await send(h, 'POST', `/agents/${agentId}/heartbeat`, {
      token: registered.body.access_token,
      key,
    });
    expect(ok.status).toBe(200);
  });

  it('never takes the key from the body: dpop_jkt is refused (422)', async () => {
    const agentId = newAgentId();
    const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
      body: tempTokenBody(agentId, { dpop_jkt: other.jkt }),
    });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors).toEqual([
      { field: 'dpop_jkt', messages: [expect.stringContaining('not accepted')] },
    ]);

    const temp = await requestTempToken(h, agentId);
    const validate = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: temp,
      body: validationBody(agentId, { dpop_jkt: other.jkt }),
    });
    expectProblem(validate, 422, 'validation-failed');
    expect(validate.body.errors.map((e: { field: string }) => e.field)).toEqual(['dpop_jkt']);
  });

  it('still refuses a proof that is sent but invalid: 401, never 500', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(h, agentId, key);
    const path = '/auth/agent/validate_compliance';
    const body = validationBody(agentId);
    const cases: [string, Promise<string>, string][] = [
      [
        'htu',
        makeProof(key, { htm: 'POST', htu: `${PUBLIC_URL}/wrong`, accessToken: temp }),
        'ERR_DPOP_HTU_MISMATCH',
      ],
      [
        'host',
        makeProof(key, { htm: 'POST', htu: `http://other.test${path}`, accessToken: temp }),
        'ERR_DPOP_HTU_MISMATCH',
      ],
      [
        'htm',
        makeProof(key, { htm: 'GET', htu: PUBLIC_URL + path, accessToken: temp }),
        'ERR_DPOP_HTM_MISMATCH',
      ],
      ['ath', makeProof(key, { htm: 'POST', htu: PUBLIC_URL + path }), 'ERR_DPOP_ATH_MISSING'],
      [
        'ath value',
        makeProof(key, { htm: 'POST', htu: PUBLIC_URL + path, accessToken: 'another-token' }),
        'ERR_DPOP_ATH_MISMATCH',
      ],
      [
        'iat',
        makeProof(key, {
          htm: 'POST',
          htu: PUBLIC_URL + path,
          accessToken: temp,
          iat: Math.floor(Date.now() / 1000) - 600,
        }),
        'ERR_DPOP_EXPIRED',
      ],
      [
        'typ',
        makeProof(key, {
          htm: 'POST',
          htu: PUBLIC_URL + path,
          accessToken: temp,
          header: { typ: 'JWT' },
        }),
        'ERR_DPOP_INVALID_TYP',
      ],
      ['garbage', Promise.resolve('not.a.jwt'), 'ERR_DPOP_MALFORMED'],
    ];
    for (const [, proof, code] of cases) {
      const res = await send(h, 'POST', path, { token: temp, proof: await proof, body });
      expectProblem(res, 401, 'dpop-invalid', code);
    }
    // The same refusals for a request that has no token at all.
    const bad = await makeProof(key, { htm: 'POST', htu: `${PUBLIC_URL}/wrong` });
    expectProblem(
      await send(h, 'POST', '/auth/agent/request_temp_token', {
        proof: bad,
        body: tempTokenBody(agentId),
      }),
      401,
      'dpop-invalid',
      'ERR_DPOP_HTU_MISMATCH',
    );
  });
});

describe('DPOP_ENABLED=false', () => {
  let h: Harness;
  beforeAll(async () => {
    // (DPOP_REQUIRED=true with it is refused at start-up: app-config.spec.ts, issue 15.)
    h = await bootApp({ env: { DPOP_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('ignores DPoP headers and runs the whole flow on Bearer tokens', async () => {
    const agentId = newAgentId();
    // Even a malformed proof is ignored, and a valid one binds nothing.
    const ignored = await send(h, 'POST', '/auth/agent/request_temp_token', {
      proof: 'garbage',
      body: tempTokenBody(agentId),
    });
    expect(ignored.status).toBe(200);
    const temp = await send(h, 'POST', '/auth/agent/request_temp_token', {
      key,
      body: tempTokenBody(agentId),
    });
    expect(temp.body.token_type).toBe('Bearer');
    expect(claimsOf(temp.body.temp_token).cnf).toBeUndefined();

    const validationId = await startValidation(h, agentId, temp.body.temp_token, key);
    const passed = await pollValidation(h, temp.body.temp_token, validationId);
    expect(claimsOf(passed.body.validated_token).cnf).toBeUndefined();
    const registered = await send(h, 'POST', '/agents/register', {
      token: passed.body.validated_token,
      body: registrationBody(agentId),
    });
    expect(registered.status).toBe(200);
    expect(registered.body.token_type).toBe('Bearer');

    const beat = await send(h, 'POST', `/agents/${agentId}/heartbeat`, {
      token: registered.body.access_token,
    });
    expect(beat.status).toBe(200);
    const self = await send(h, 'GET', `/agents/${agentId}`, {
      token: registered.body.access_token,
    });
    expect(self.body.dpop_jkt).toBeUndefined();
  });

  it('does not honour a DPoP-bound token it cannot check (401)', async () => {
    const agentId = newAgentId();
    const bound = await forgeToken(h, agentId, { ...KIND.temp, cnf: { jkt: key.jkt } });
    const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: bound,
      key,
      body: validationBody(agentId),
    });
    expectProblem(res, 401, 'dpop-required', 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
  });

  it('advertises no DPoP algorithms', async () => {
    const config = await send(h, 'GET', '/.well-known/arcp-configuration');
    expect(config.body).toMatchObject({ dpop_enabled: false, dpop_required: false });
    expect(config.body.dpop_signing_alg_values_supported).toBeUndefined();
    const missing = await send(h, 'POST', '/auth/agent/validate_compliance', {
      body: validationBody('x-agent'),
    });
    expect(missing.headers['www-authenticate']).toBe('Bearer');
  });
});
