import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, type TestKey } from '../support/proofs.js';
import {
  expectProblem,
  newAgentId,
  pollValidation,
  registeredAgent,
  registrationBody,
  requestTempToken,
  send,
  startValidation,
  validatedToken,
  validationBody,
} from './agent-client.js';
import { bootApp, redisKeys, STORES, type Harness } from './app-harness.js';

/**
 * Finding 6 of the audit: state a client can create is bounded. One validation per agent (a new
 * one replaces the previous), and the in-memory stores hold at most ARCP_MEMORY_MAX_RECORDS
 * records (expired ones are evicted first, then new ones are refused with 503).
 */
let key: TestKey;
beforeAll(async () => {
  key = await makeKey('EdDSA');
});

describe.each(STORES)('one validation per agent (%s store)', (store) => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp({ store });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a new validation replaces the previous one of the same agent', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(h, agentId, key);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await startValidation(h, agentId, temp, key));
    const latest = await pollValidation(h, temp, ids.at(-1)!, key);
    expect(latest.body.status).toBe('passed');
    for (const id of ids.slice(0, -1)) {
      const old = await send(h, 'GET', `/auth/agent/validation/${id}`, { token: temp, key });
      expectProblem(old, 404, 'not-found');
    }
    if (store === 'redis') {
      const records = (await redisKeys(h.redisPrefix!)).filter((k) =>
        /:\{val\}:val_[0-9a-f]{16}$/.test(k),
      );
      expect(records).toHaveLength(1);
    }
  });
});

describe('memory stores are capped (ARCP_MEMORY_MAX_RECORDS=2)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp({ env: { ARCP_MEMORY_MAX_RECORDS: '2', AGENT_HEARTBEAT_TIMEOUT: '1' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a registration past the cap with 503, and evicts expired agents first', async () => {
    await registeredAgent(h, newAgentId(), key);
    await registeredAgent(h, newAgentId(), key);
    const third = newAgentId();
    // Consumed validations make room for new ones; the registry is full of live agents.
    const { validated } = await validatedToken(h, third, key);
    const full = await send(h, 'POST', '/agents/register', {
      token: validated,
      key,
      body: registrationBody(third),
    });
    expectProblem(full, 503, 'service-unavailable');
    expect(full.body).toMatchObject({ error_code: 'REGISTRY_FULL' });
    expect(full.headers['retry-after']).toBeDefined();

    // After the heartbeat timeout the two agents are expired: room is made for the new one.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const ok = await registeredAgent(h, third, key);
    expect(ok.access).toEqual(expect.any(String));
  });

  it('refuses a validation past the cap with 503 while the stored ones are live', async () => {
    const ids = [newAgentId(), newAgentId(), newAgentId()];
    const temps = await Promise.all(ids.map((id) => requestTempToken(h, id, key)));
    await startValidation(h, ids[0]!, temps[0]!, key);
    await startValidation(h, ids[1]!, temps[1]!, key);
    const refused = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: temps[2],
      key,
      body: validationBody(ids[2]!),
    });
    expectProblem(refused, 503, 'service-unavailable');
    expect(refused.body).toMatchObject({ error_code: 'VALIDATIONS_FULL' });
  });
});
