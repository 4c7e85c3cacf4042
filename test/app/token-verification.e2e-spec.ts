import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { TokenService } from '../../src/auth/token.service.js';
import { makeKey, type TestKey } from '../support/proofs.js';
import { expectProblem, newAgentId, registeredAgent, send } from './agent-client.js';
import { bootApp, type Harness } from './app-harness.js';
import { tamper } from './forge.js';

/** Every line the app logs, with its level. */
function recordingLogger(lines: string[]): LoggerService {
  const record = (level: string) => (message: unknown) =>
    void lines.push(`${level} ${String(message)}`);
  return {
    log: record('LOG'),
    warn: record('WARN'),
    error: record('ERROR'),
    debug: record('DEBUG'),
    verbose: record('VERBOSE'),
    fatal: record('FATAL'),
  };
}

/**
 * The app's tokens are verified by the DPoP module (its `accessToken` option, with the server's
 * signing key as the local key set), not a second time by the app: the app keeps ARCP's rules.
 * `TokenService.verify` (the app's own signature check) is observed, not replaced.
 */
describe('the app token verified by the DPoP guard', () => {
  let h: Harness;
  let key: TestKey;
  const logged: string[] = [];
  beforeAll(async () => {
    h = await bootApp({ logger: recordingLogger(logged) });
    key = await makeKey('ES256');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('starts without the warning about @DPoPBound() routes reading unverified tokens', () => {
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((line) => /DPoPBound|do(es)? not verify|unverified/i.test(line))).toEqual(
      [],
    );
    expect(logged.filter((line) => line.startsWith('WARN '))).toEqual([]);
  });

  it('runs the whole flow and the agent routes without the app checking a signature', async () => {
    const verify = jest.spyOn(h.app.get(TokenService), 'verify');
    try {
      const agentId = newAgentId();
      const { access } = await registeredAgent(h, agentId, key);
      for (let i = 0; i < 3; i++) {
        const beat = await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: access, key });
        expect(beat.status).toBe(200);
      }
      const self = await send(h, 'GET', `/agents/${agentId}`, { token: access, key });
      expect(self.status).toBe(200);
      expect(self.body.agent_id).toBe(agentId);
      // A forged token is refused all the same, by the guard.
      const forged = tamper(access, (claims) => {
        claims.exp = (claims.exp as number) + 86_400;
      });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: forged, key }),
        401,
        'token-invalid',
      );
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });
});

describe('DPOP_ENABLED=false: the DPoP guard does nothing, so the app verifies its tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await bootApp({ env: { DPOP_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('checks the signature itself, and refuses a forged token', async () => {
    const verify = jest.spyOn(h.app.get(TokenService), 'verify');
    try {
      const agentId = newAgentId();
      const { access } = await registeredAgent(h, agentId);
      const beat = await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: access });
      expect(beat.status).toBe(200);
      expect(verify).toHaveBeenCalled();
      const forged = tamper(access, (claims) => {
        claims.exp = (claims.exp as number) + 86_400;
      });
      expectProblem(
        await send(h, 'POST', `/agents/${agentId}/heartbeat`, { token: forged }),
        401,
        'token-invalid',
      );
    } finally {
      verify.mockRestore();
    }
  });
});
