import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { makeKey, type TestKey } from '../support/proofs.js';
import {
  expectProblem,
  newAgentId,
  registeredAgent,
  registrationBody,
  requestTempToken,
  send,
  startValidation,
  pollValidation,
  validatedToken,
  validationBody,
} from './agent-client.js';
import { bootApp, STORES, type Harness } from './app-harness.js';
import { forgeToken, foreignKey, KIND, tamper, unsigned } from './forge.js';

/** Each token is accepted at its own step only, and only while genuine and unexpired. */
describe.each(STORES)('server tokens (%s store)', (store) => {
  let h: Harness;
  let key: TestKey;
  let thief: TestKey;
  let agentId: string;
  let temp: string;
  let validated: string;
  let access: string;

  beforeAll(async () => {
    h = await bootApp({ store });
    key = await makeKey('EdDSA');
    thief = await makeKey('ES256');
    agentId = newAgentId();
    // A registered agent and a fresh access token; then a second validation for the same agent,
    // whose `validated` token stays unspent for the mixing tests. (In this order: a new
    // validation replaces the agent's previous one, so an earlier one would be gone.)
    ({ access } = await registeredAgent(h, agentId, key));
    ({ temp, validated } = await validatedToken(h, agentId, key));
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('token mixing: a genuine token at the wrong step is 403 token-invalid', () => {
    it('a temp token cannot register', async () => {
      const res = await send(h, 'POST', '/agents/register', {
        token: temp,
        key,
        body: registrationBody(agentId),
      });
      expectProblem(res, 403, 'token-invalid');
      expect(res.body.title).toBe('Invalid Token for Registration');
    });

    it('an access token cannot validate', async () => {
      const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: access,
        key,
        body: validationBody(agentId),
      });
      expectProblem(res, 403, 'token-invalid');
      expect(res.body.expected_audience).toBe('arcp:validate');
    });

    it('a validated token cannot validate again or poll', async () => {
      expectProblem(
        await send(h, 'POST', '/auth/agent/validate_compliance', {
          token: validated,
          key,
          body: validationBody(agentId),
        }),
        403,
        'token-invalid',
      );
      const validationId = decodeJwt(validated).validation_id as string;
      expectProblem(
        await send(h, 'GET', `/auth/agent/validation/${validationId}`, { token: validated, key }),
        403,
        'token-invalid',
      );
    });

    it('neither a temp nor a validated token can act as the agent', async () => {
      for (const token of [temp, validated]) {
        expectProblem(
          await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token, key }),
          403,
          'token-invalid',
        );
        expectProblem(
          await send(h, 'GET', `/agents/${agentId}`, { token, key }),
          403,
          'token-invalid',
        );
      }
    });

    it('an access token cannot register', async () => {
      expectProblem(
        await send(h, 'POST', '/agents/register', {
          token: access,
          key,
          body: registrationBody(agentId),
        }),
        403,
        'token-invalid',
      );
    });

    it('a server-signed token with the wrong audience or type is refused', async () => {
      const jkt = { cnf: { jkt: key.jkt } };
      const wrongAud = await forgeToken(h, agentId, {
        ...KIND.validated,
        aud: 'arcp:wrong',
        validation_id: 'val_0000000000000000',
        ...jkt,
      });
      expectProblem(
        await send(h, 'POST', '/agents/register', {
          token: wrongAud,
          key,
          body: registrationBody(agentId),
        }),
        403,
        'token-invalid',
      );
      const wrongType = await forgeToken(h, agentId, {
        ...KIND.access,
        token_type: 'temp',
        ...jkt,
      });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: wrongType, key }),
        403,
        'token-invalid',
      );
    });
  });

  describe('expired, tampered and foreign tokens are 401 token-invalid', () => {
    const past = () => {
      const now = Math.floor(Date.now() / 1000);
      return { iat: now - 1000, exp: now - 60 };
    };

    it('an expired temp, validated or access token', async () => {
      const jkt = { cnf: { jkt: key.jkt } };
      const expiredTemp = await forgeToken(h, agentId, { ...KIND.temp, ...jkt, ...past() });
      const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: expiredTemp,
        key,
        body: validationBody(agentId),
      });
      expectProblem(res, 401, 'token-invalid');
      expect(res.body.detail).toBe('Token has expired');
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');

      const expiredValidated = await forgeToken(h, agentId, {
        ...KIND.validated,
        validation_id: 'val_0000000000000000',
        ...jkt,
        ...past(),
      });
      expectProblem(
        await send(h, 'POST', '/agents/register', {
          token: expiredValidated,
          key,
          body: registrationBody(agentId),
        }),
        401,
        'token-invalid',
      );

      const expiredAccess = await forgeToken(h, agentId, { ...KIND.access, ...jkt, ...past() });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: expiredAccess, key }),
        401,
        'token-invalid',
      );
    });

    it('a token whose payload was edited', async () => {
      const renamed = tamper(access, (claims) => {
        claims.agent_id = 'malicious-agent';
        claims.sub = 'malicious-agent';
      });
      expectProblem(
        await send(h, 'GET', '/agents/malicious-agent', { token: renamed, key }),
        401,
        'token-invalid',
      );

      const longer = tamper(access, (claims) => {
        claims.exp = (claims.exp as number) + 86_400;
      });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: longer, key }),
        401,
        'token-invalid',
      );
    });

    it('a stolen token re-bound to the thief key by editing cnf.jkt', async () => {
      // The DPoP guard verifies the token before it reads cnf.jkt: an edited token is refused
      // as the forgery it is, whatever binding it claims (or drops), before any proof is looked at.
      const rebound = tamper(access, (claims) => {
        claims.cnf = { jkt: thief.jkt };
      });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: rebound, key: thief }),
        401,
        'token-invalid',
      );
      const unbound = tamper(access, (claims) => {
        delete claims.cnf;
      });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: unbound, key: thief }),
        401,
        'token-invalid',
      );
      expectProblem(
        await send(h, 'POST', '/auth/agent/validate_compliance', {
          token: tamper(temp, (claims) => delete claims.cnf),
          key: thief,
          body: validationBody(agentId),
        }),
        401,
        'token-invalid',
      );
    });

    it('a token signed by another key, or not signed at all', async () => {
      const foreign = await forgeToken(h, agentId, { ...KIND.temp }, foreignKey());
      expectProblem(
        await send(h, 'POST', '/auth/agent/validate_compliance', {
          token: foreign,
          body: validationBody(agentId),
        }),
        401,
        'token-invalid',
      );
      const now = Math.floor(Date.now() / 1000);
      const none = unsigned({
        iss: h.config.issuer,
        sub: agentId,
        agent_id: agentId,
        agent_type: 'security',
        ...KIND.temp,
        jti: 'x',
        iat: now,
        exp: now + 60,
      });
      const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: none,
        body: validationBody(agentId),
      });
      expectProblem(res, 401, 'token-invalid');
    });
  });

  describe('missing or unusable credentials', () => {
    it('no Authorization header: 401 authentication-failed with a challenge', async () => {
      const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
        body: validationBody(agentId),
      });
      expectProblem(res, 401, 'authentication-failed');
      expect(res.headers['www-authenticate']).toBe('DPoP algs="EdDSA Ed25519 ES256 RS256", Bearer');
      expectProblem(
        await send(h, 'GET', '/auth/agent/validation/val_0000000000000000'),
        401,
        'authentication-failed',
      );
      expectProblem(
        await send(h, 'POST', '/agents/register', { body: registrationBody(agentId) }),
        401,
        'authentication-failed',
      );
    });

    it('a route marked @DPoPBound() without any token: 401 token-not-dpop-bound', async () => {
      const withProof = await send(h, 'POST', `/agents/${agentId}/heartbeat`, { key });
      expectProblem(withProof, 401, 'token-not-dpop-bound', 'ERR_DPOP_TOKEN_NOT_BOUND');
      expect(withProof.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);
      // No credentials at all: the same problem, and a challenge without an error (RFC 6750 §3.1).
      const bare = await send(h, 'POST', `/agents/${agentId}/heartbeat`);
      expectProblem(bare, 401, 'token-not-dpop-bound', 'ERR_DPOP_TOKEN_NOT_BOUND');
      expect(bare.headers['www-authenticate']).toBe('DPoP algs="EdDSA Ed25519 ES256 RS256"');
    });

    it('an unknown agent key: 401 authentication-failed', async () => {
      const res = await send(h, 'POST', '/auth/agent/request_temp_token', {
        key,
        body: { agent_id: agentId, agent_type: 'security', agent_key: 'not-the-right-key-123' },
      });
      expectProblem(res, 401, 'authentication-failed');
      expect(res.body.detail).toBe('Authentication failed: Invalid agent registration key');
    });
  });

  describe('the validation step', () => {
    it("refuses an agent_id that is not the token's (400 invalid-input)", async () => {
      const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: temp,
        key,
        body: validationBody('someone-else'),
      });
      expectProblem(res, 400, 'invalid-input');
      expect(res.body).toMatchObject({
        field: 'agent_id',
        detail: 'Invalid agent_id: agent_id in request must match token',
      });
    });

    it('reports a failed validation with its errors', async () => {
      const id = newAgentId();
      const t = await requestTempToken(h, id, key);
      const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
        token: t,
        key,
        body: validationBody(id, { agent_type: 'astrology' }),
      });
      expect(res.status).toBe(202);
      const failed = await pollValidation(h, t, res.body.validation_id, key);
      expect(failed.status).toBe(200);
      expect(failed.body).toMatchObject({
        status: 'failed',
        message: 'Validation failed',
        errors: [{ type: 'agent_type_not_allowed', field: 'agent_type' }],
        endpoint_check: 'skipped',
      });
      expect(failed.body.validated_token).toBeUndefined();
    });

    it("hides unknown validations (404) and other agents' validations (403)", async () => {
      expectProblem(
        await send(h, 'GET', '/auth/agent/validation/val_0123456789abcdef', { token: temp, key }),
        404,
        'not-found',
      );
      expectProblem(
        await send(h, 'GET', '/auth/agent/validation/..%2F..%2Fetc', { token: temp, key }),
        404,
        'not-found',
      );

      const other = newAgentId();
      const otherTemp = await requestTempToken(h, other, thief);
      const otherId = await startValidation(h, other, otherTemp, thief);
      const res = await send(h, 'GET', `/auth/agent/validation/${otherId}`, { token: temp, key });
      expectProblem(res, 403, 'forbidden');
    });
  });

  describe('the registration step', () => {
    it("refuses another agent_id than the token's (403) without spending the token", async () => {
      const id = newAgentId();
      const { validated: v } = await validatedToken(h, id, key);
      const res = await send(h, 'POST', '/agents/register', {
        token: v,
        key,
        body: registrationBody('someone-else'),
      });
      expectProblem(res, 403, 'insufficient-permissions');
      const changed = await send(h, 'POST', '/agents/register', {
        token: v,
        key,
        body: registrationBody(id, { endpoint: 'https://elsewhere.example.com' }),
      });
      expectProblem(changed, 400, 'invalid-input');
      expect(changed.body.field).toBe('endpoint');
      const ok = await send(h, 'POST', '/agents/register', {
        token: v,
        key,
        body: registrationBody(id),
      });
      expect(ok.status).toBe(200);
    });

    it('refuses an agent type outside ALLOWED_AGENT_TYPES (422 naming agent_type)', async () => {
      const id = newAgentId();
      const { validated: v } = await validatedToken(h, id, key);
      const res = await send(h, 'POST', '/agents/register', {
        token: v,
        key,
        body: registrationBody(id, { agent_type: 'astrology' }),
      });
      expectProblem(res, 422, 'validation-failed');
      expect(res.body.errors).toEqual([
        { field: 'agent_type', messages: [expect.stringContaining('is not allowed')] },
      ]);
    });

    it('refuses a second live registration of one agent_id (409 duplicate-agent)', async () => {
      // `agentId` was registered in beforeAll and is alive; `validated` is a second, unspent
      // validation for it.
      const res = await send(h, 'POST', '/agents/register', {
        token: validated,
        key,
        body: registrationBody(agentId),
      });
      expectProblem(res, 409, 'duplicate-agent');
    });

    it('lets an agent act on its own record only (403 insufficient-permissions)', async () => {
      const other = newAgentId();
      await registeredAgent(h, other, thief);
      expectProblem(
        await send(h, 'POST', `/agents/${other}/heartbeat`, { token: access, key }),
        403,
        'insufficient-permissions',
      );
      expectProblem(
        await send(h, 'GET', `/agents/${other}`, { token: access, key }),
        403,
        'insufficient-permissions',
      );
    });
  });
});
