import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, type TestKey } from '../support/proofs.js';
import {
  claimsOf,
  expectProblem,
  newAgentId,
  registeredAgent,
  registrationBody,
  send,
  tempTokenBody,
  validatedToken,
} from './agent-client.js';
import { bootApp, STORES, type Harness, type StoreKind } from './app-harness.js';

/**
 * Key rotation (issue 22, item 5): an agent registered with key A moves to key B through the
 * normal three-phase flow, under the re-registration rules the app already has: a live agent_id
 * cannot be registered again (409 `duplicate-agent`), so the agent stops heartbeating with A,
 * waits out AGENT_HEARTBEAT_TIMEOUT (3 s here: long enough for a three-phase flow on a loaded
 * machine, since the tests below need an agent to stay alive across one; each also heartbeats just
 * before the step that needs it alive), and registers with tokens bound to B. Afterwards
 * every token of A's registration is refused, whoever signs the proof, and A cannot take the
 * agent back while B is alive.
 */
const HEARTBEAT_TIMEOUT_S = 3;
const lapse = (): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, HEARTBEAT_TIMEOUT_S * 1000 + 150));

let keyA: TestKey;
let keyB: TestKey;
beforeAll(async () => {
  keyA = await makeKey('ES256');
  keyB = await makeKey('EdDSA');
});

describe.each(STORES)('key rotation (%s store)', (store: StoreKind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp({ store, env: { AGENT_HEARTBEAT_TIMEOUT: String(HEARTBEAT_TIMEOUT_S) } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const heartbeat = (agentId: string, token: string, key: TestKey) =>
    send(h, 'POST', `/agents/${agentId}/heartbeat`, { token, key, body: {} });
  const record = (agentId: string, token: string, key: TestKey) =>
    send(h, 'GET', `/agents/${agentId}`, { token, key });

  it('moves an agent from key A to key B; A’s tokens are refused afterwards', async () => {
    const agentId = newAgentId();
    const a = await registeredAgent(h, agentId, keyA);
    expect(claimsOf(a.access).cnf).toEqual({ jkt: keyA.jkt });
    expect((await heartbeat(agentId, a.access, keyA)).status).toBe(200);

    // While A's registration is alive, the flow with B gets as far as a validated token bound
    // to B, and registration is refused: a live agent_id is never registered again.
    const early = await validatedToken(h, agentId, keyB);
    expect(claimsOf(early.validated).cnf).toEqual({ jkt: keyB.jkt });
    expect((await heartbeat(agentId, a.access, keyA)).status).toBe(200);
    const refused = await send(h, 'POST', '/agents/register', {
      token: early.validated,
      key: keyB,
      body: registrationBody(agentId),
    });
    expectProblem(refused, 409, 'duplicate-agent');
    // A is untouched by the refused attempt.
    expect((await record(agentId, a.access, keyA)).body).toMatchObject({
      dpop_jkt: keyA.jkt,
      status: 'alive',
    });

    // A stops heartbeating; once the timeout passed, the whole flow with B registers.
    await lapse();
    expect((await record(agentId, a.access, keyA)).body).toMatchObject({ status: 'inactive' });
    const b = await registeredAgent(h, agentId, keyB);
    expect(claimsOf(b.access).cnf).toEqual({ jkt: keyB.jkt });
    expect(claimsOf(b.access).registration_id).not.toEqual(claimsOf(a.access).registration_id);

    // B's token works on the agent's routes, and the registry now holds B's thumbprint.
    expect((await heartbeat(agentId, b.access, keyB)).status).toBe(200);
    const mine = await record(agentId, b.access, keyB);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ dpop_jkt: keyB.jkt, status: 'alive' });

    // A's access token is still unexpired; with fresh proofs from A's own key it is refused.
    expect(claimsOf(a.access).exp).toBeGreaterThan(Date.now() / 1000);
    for (const res of [
      await heartbeat(agentId, a.access, keyA),
      await record(agentId, a.access, keyA),
    ]) {
      expectProblem(res, 401, 'token-invalid');
      expect(res.body).toMatchObject({ agent_id: agentId, error_code: 'REGISTRATION_SUPERSEDED' });
      expect(JSON.stringify(res.body)).not.toContain(keyB.jkt);
    }
    // With a proof from B (the agent's key now) A's token is refused too: it is bound to A.
    expectProblem(
      await heartbeat(agentId, a.access, keyB),
      401,
      'dpop-binding-mismatch',
      'ERR_DPOP_BINDING_MISMATCH',
    );
    // And B's token with a proof from A: bound to B.
    expectProblem(
      await heartbeat(agentId, b.access, keyA),
      401,
      'dpop-binding-mismatch',
      'ERR_DPOP_BINDING_MISMATCH',
    );
    // None of this kept A's registration alive or disturbed B's.
    expect((await record(agentId, b.access, keyB)).body).toMatchObject({ dpop_jkt: keyB.jkt });
  });

  it('A cannot take the agent back without what the flow requires', async () => {
    const agentId = newAgentId();
    const a = await registeredAgent(h, agentId, keyA);
    await lapse();
    const b = await registeredAgent(h, agentId, keyB);

    // A's spent tokens of its own registration: its validated token is single-use (and its
    // validation gone: the app keeps one validation per agent_id, now B's), and an access token
    // is not a registration token.
    const replay = await send(h, 'POST', '/agents/register', {
      token: a.validated,
      key: keyA,
      body: registrationBody(agentId),
    });
    expectProblem(replay, 401, 'token-invalid');
    expect(replay.body).toMatchObject({ error_code: 'NO_VALIDATION' });
    const wrongKind = await send(h, 'POST', '/agents/register', {
      token: a.access,
      key: keyA,
      body: registrationBody(agentId),
    });
    expect(wrongKind.status).toBe(403);
    expect(wrongKind.body).toMatchObject({ type: expect.stringContaining('token-invalid') });

    // Without a registration key there is no temp token, so no flow at all.
    const noKey = await send(h, 'POST', '/auth/agent/request_temp_token', {
      key: keyA,
      body: tempTokenBody(agentId, { agent_key: 'not-a-registration-key' }),
    });
    expectProblem(noKey, 401, 'authentication-failed');

    // With one, the flow again validates A, and registration is refused while B is alive.
    const back = await validatedToken(h, agentId, keyA);
    expect((await heartbeat(agentId, b.access, keyB)).status).toBe(200);
    const refused = await send(h, 'POST', '/agents/register', {
      token: back.validated,
      key: keyA,
      body: registrationBody(agentId),
    });
    expectProblem(refused, 409, 'duplicate-agent');
    expect((await heartbeat(agentId, b.access, keyB)).status).toBe(200);
    expect((await record(agentId, b.access, keyB)).body).toMatchObject({ dpop_jkt: keyB.jkt });
    expectProblem(await heartbeat(agentId, a.access, keyA), 401, 'token-invalid');
  });

  it('once B stops heartbeating, a registration key is all it takes (the spec’s rule)', async () => {
    // Not a rotation: the documented limit of the registry. After the heartbeat timeout, anyone
    // holding a registration key and passing validation may register the agent_id again.
    const agentId = newAgentId();
    await registeredAgent(h, agentId, keyA);
    await lapse();
    const b = await registeredAgent(h, agentId, keyB);
    await lapse();
    const again = await registeredAgent(h, agentId, keyA);
    expect((await heartbeat(agentId, again.access, keyA)).status).toBe(200);
    expectProblem(await heartbeat(agentId, b.access, keyB), 401, 'token-invalid');
  });
});
