import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ALGORITHMS,
  makeKey,
  makeProof,
  type TestAlgorithm,
  type TestKey,
} from '../support/proofs.js';
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
  validatedToken,
  validationBody,
} from './agent-client.js';
import { bootApp, PUBLIC_URL, redisKeys, STORES, type Harness } from './app-harness.js';

/**
 * The whole three-phase flow over HTTP, for each proof algorithm and each store, in the default
 * mode (DPoP optional): a proof at phase 1 binds every later token to the agent's key.
 */
describe.each(STORES)('three-phase registration (%s store)', (store) => {
  let h: Harness;
  const keys = {} as Record<TestAlgorithm, { agent: TestKey; thief: TestKey }>;

  beforeAll(async () => {
    h = await bootApp({ store });
    // RSA keys are slow to make: two per algorithm, once per suite.
    for (const alg of ALGORITHMS) {
      keys[alg] = { agent: await makeKey(alg), thief: await makeKey(alg) };
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  describe.each(ALGORITHMS)('with %s keys', (alg) => {
    it('registers an agent, every token bound to the key of the first proof', async () => {
      const { agent: key } = keys[alg];
      const agentId = newAgentId();

      const temp = await send(h, 'POST', '/auth/agent/request_temp_token', {
        key,
        body: tempTokenBody(agentId),
      });
      expect(temp.status).toBe(200);
      expect(temp.headers['cache-control']).toBe('no-store');
      expect(temp.body).toEqual({
        temp_token: expect.any(String),
        token_type: 'DPoP',
        expires_in: 900,
        message: 'Temporary token issued. Use this token to complete agent registration.',
      });
      expect(claimsOf(temp.body.temp_token)).toMatchObject({
        sub: agentId,
        agent_id: agentId,
        agent_type: 'security',
        aud: 'arcp:validate',
        token_type: 'temp',
        cnf: { jkt: key.jkt },
      });

      const accepted = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: temp.body.temp_token,
        key,
        body: validationBody(agentId),
      });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toMatchObject({
        status: 'pending',
        validation_id: expect.stringMatching(/^val_[0-9a-f]{16}$/),
      });
      const pollingUrl = `${PUBLIC_URL}/auth/agent/validation/${accepted.body.validation_id}`;
      expect(accepted.body.polling_url).toBe(pollingUrl);
      expect(accepted.headers.location).toBe(pollingUrl);

      const passed = await pollValidation(
        h,
        temp.body.temp_token,
        accepted.body.validation_id,
        key,
      );
      expect(passed.status).toBe(200);
      expect(passed.body).toMatchObject({
        status: 'passed',
        token_type: 'DPoP',
        validated_token: expect.any(String),
      });
      expect(passed.body.expires_in).toBeGreaterThan(290);
      expect(passed.body.expires_in).toBeLessThanOrEqual(300);
      const validated = claimsOf(passed.body.validated_token);
      expect(validated).toMatchObject({
        aud: 'arcp:register',
        token_type: 'validated',
        validation_id: accepted.body.validation_id,
        cnf: { jkt: key.jkt },
      });
      expect(validated.exp! - validated.iat!).toBeLessThanOrEqual(300);

      const registered = await send(h, 'POST', '/agents/register', {
        token: passed.body.validated_token,
        key,
        body: registrationBody(agentId),
      });
      expect(registered.status).toBe(200);
      expect(registered.body).toEqual({
        status: 'success',
        message: "Agent 'Test Agent' registered successfully",
        agent_id: agentId,
        access_token: expect.any(String),
        token_type: 'DPoP',
        expires_in: 3600,
      });
      const access = registered.body.access_token as string;
      expect(claimsOf(access)).toMatchObject({
        aud: 'arcp:operations',
        token_type: 'access',
        cnf: { jkt: key.jkt },
      });

      const beat = await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: access, key });
      expect(beat.status).toBe(200);
      expect(beat.body).toEqual({
        agent_id: agentId,
        status: 'alive',
        last_seen: expect.any(String),
      });

      const self = await send(h, 'GET', `/agents/${agentId}`, { token: access, key });
      expect(self.status).toBe(200);
      expect(self.body).toMatchObject({
        agent_id: agentId,
        agent_type: 'security',
        dpop_jkt: key.jkt,
        status: 'alive',
      });
    });

    it('refuses each stolen token with a proof from another key (401)', async () => {
      const { agent: key, thief } = keys[alg];
      const agentId = newAgentId();

      const temp = await requestTempToken(h, agentId, key);
      const stolenTemp = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: temp,
        key: thief,
        body: validationBody(agentId),
      });
      expectProblem(stolenTemp, 401, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');
      expect(stolenTemp.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);

      const validationId = await startValidation(h, agentId, temp, key);
      const stolenPoll = await send(h, 'GET', `/auth/agent/validation/${validationId}`, {
        token: temp,
        key: thief,
      });
      expectProblem(stolenPoll, 401, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');

      const passed = await pollValidation(h, temp, validationId, key);
      const validated = passed.body.validated_token as string;
      const stolenValidated = await send(h, 'POST', '/agents/register', {
        token: validated,
        key: thief,
        body: registrationBody(agentId),
      });
      expectProblem(stolenValidated, 401, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');

      // The refused attempt did not spend the validation: its owner still registers.
      const registered = await send(h, 'POST', '/agents/register', {
        token: validated,
        key,
        body: registrationBody(agentId),
      });
      expect(registered.status).toBe(200);
      const access = registered.body.access_token as string;

      const stolenAccess = await send(h, 'POST', `/agents/${agentId}/heartbeat`, {
        token: access,
        key: thief,
      });
      expectProblem(stolenAccess, 401, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');
      const stolenRead = await send(h, 'GET', `/agents/${agentId}`, { token: access, key: thief });
      expectProblem(stolenRead, 401, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');

      // Nor can the thief drop DPoP and present the bound token as a plain Bearer token.
      const downgraded = await send(h, 'POST', `/agents/${agentId}/heartbeat`, {
        token: access,
        scheme: 'Bearer',
      });
      expectProblem(downgraded, 401, 'dpop-required', 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
      const downgradedTemp = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: temp,
        scheme: 'Bearer',
        body: validationBody(agentId),
      });
      expectProblem(downgradedTemp, 401, 'dpop-required', 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
    });

    it('refuses a replayed proof (401 dpop-invalid, ERR_DPOP_REPLAY)', async () => {
      const { agent: key } = keys[alg];
      const agentId = newAgentId();
      const { access } = await registeredAgent(h, agentId, key);
      const path = `/agents/${agentId}/heartbeat`;
      const proof = await makeProof(key, {
        htm: 'POST',
        htu: PUBLIC_URL + path,
        accessToken: access,
      });

      const first = await send(h, 'POST', path, { token: access, proof });
      expect(first.status).toBe(200);
      const replayed = await send(h, 'POST', path, { token: access, proof });
      expectProblem(replayed, 401, 'dpop-invalid', 'ERR_DPOP_REPLAY');
      expect(replayed.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof"/);

      // Phase 1 has no token, but its proof is just as single-use.
      const tempProof = await makeProof(key, {
        htm: 'POST',
        htu: `${PUBLIC_URL}/auth/agent/request_temp_token`,
      });
      const body = tempTokenBody(newAgentId());
      const firstTemp = await send(h, 'POST', '/auth/agent/request_temp_token', {
        proof: tempProof,
        body,
      });
      expect(firstTemp.status).toBe(200);
      const replayedTemp = await send(h, 'POST', '/auth/agent/request_temp_token', {
        proof: tempProof,
        body,
      });
      expectProblem(replayedTemp, 401, 'dpop-invalid', 'ERR_DPOP_REPLAY');
    });
  });

  it('spends a validated token once: a second registration is 403 token-invalid', async () => {
    const key = keys.EdDSA.agent;
    const agentId = newAgentId();
    const { validated, validationId } = await validatedToken(h, agentId, key);

    const first = await send(h, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId),
    });
    expect(first.status).toBe(200);
    const again = await send(h, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId),
    });
    expectProblem(again, 403, 'token-invalid');
    expect(again.body).toMatchObject({
      error_code: 'ALREADY_USED',
      validation_id: validationId,
      agent_id: agentId,
    });
  });

  it('lets one of five concurrent registrations with one validated token through', async () => {
    const key = keys.ES256.agent;
    const agentId = newAgentId();
    const { validated } = await validatedToken(h, agentId, key);

    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        send(h, 'POST', '/agents/register', {
          token: validated,
          key,
          body: registrationBody(agentId),
        }),
      ),
    );
    expect(results.map((r) => r.status).sort((a, b) => a - b)).toEqual([200, 403, 403, 403, 403]);
    for (const refused of results.filter((r) => r.status === 403)) {
      expectProblem(refused, 403, 'token-invalid');
      expect(refused.body.error_code).toBe('ALREADY_USED');
    }
  });

  it('keeps its state under its own Redis prefix', async () => {
    if (store === 'memory') {
      expect(h.redisPrefix).toBeUndefined();
      return;
    }
    const agentId = newAgentId();
    await registeredAgent(h, agentId, keys.EdDSA.agent);
    const stored = await redisKeys(h.redisPrefix!);
    expect(stored).toEqual(
      expect.arrayContaining([
        `${h.redisPrefix}agent:${agentId}`,
        expect.stringMatching(/dpop:jti:/),
        expect.stringMatching(/\{val\}:val_/),
        expect.stringMatching(/val:used:val_/),
      ]),
    );
  });
});

/** Two instances of the service behind one Redis: replay and reuse protection span them. */
describe('two instances sharing Redis', () => {
  let a: Harness;
  let b: Harness;
  let key: TestKey;

  beforeAll(async () => {
    a = await bootApp({ store: 'redis' });
    b = await bootApp({ store: 'redis', redisPrefix: a.redisPrefix!, signingKey: a.signingKey });
    key = await makeKey('EdDSA');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('refuses on one instance a proof already used on the other', async () => {
    const proof = await makeProof(key, {
      htm: 'POST',
      htu: `${PUBLIC_URL}/auth/agent/request_temp_token`,
    });
    const body = tempTokenBody(newAgentId());
    const ok = await send(a, 'POST', '/auth/agent/request_temp_token', { proof, body });
    expect(ok.status).toBe(200);
    expectProblem(
      await send(b, 'POST', '/auth/agent/request_temp_token', { proof, body }),
      401,
      'dpop-invalid',
      'ERR_DPOP_REPLAY',
    );
  });

  it('runs phases on different instances, and spends a validated token once', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(a, agentId, key);
    const validationId = await startValidation(b, agentId, temp, key);
    const passed = await pollValidation(a, temp, validationId, key);
    const validated = passed.body.validated_token as string;

    const registered = await send(b, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId),
    });
    expect(registered.status).toBe(200);
    const reused = await send(a, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(agentId),
    });
    expectProblem(reused, 403, 'token-invalid');

    const beat = await send(a, 'POST', `/agents/${agentId}/heartbeat`, {
      token: registered.body.access_token,
      key,
    });
    expect(beat.status).toBe(200);
  });
});
