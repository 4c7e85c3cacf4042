import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, type TestKey } from '../support/proofs.js';
import {
  newAgentId,
  pollValidation,
  registrationBody,
  requestTempToken,
  send,
  validationBody,
} from './agent-client.js';
import { bootApp, type Harness } from './app-harness.js';

/**
 * ARCP_ENDPOINT_CHECK=true: validation calls `GET <endpoint>/health` on a real agent endpoint
 * (a local HTTP server) and requires it to answer with the same agent_id.
 */
describe('endpoint identity check (ARCP_ENDPOINT_CHECK=true)', () => {
  let h: Harness;
  let key: TestKey;
  let agentServer: Server;
  let agentBase: string;
  /** What the fake agent answers, per agent id in the path: /<agent_id>/health. */
  const answers = new Map<string, { status: number; body: string; delayMs?: number }>();

  beforeAll(async () => {
    agentServer = createServer((req, res) => {
      const match = /^\/([^/]+)\/health$/.exec(req.url ?? '');
      const answer = match ? answers.get(match[1]!) : undefined;
      const reply = (): void => {
        res.writeHead(answer?.status ?? 404, { 'content-type': 'application/json' });
        res.end(answer?.body ?? '{}');
      };
      if (answer?.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    });
    await new Promise<void>((resolve) => agentServer.listen(0, '127.0.0.1', resolve));
    agentBase = `http://127.0.0.1:${(agentServer.address() as AddressInfo).port}`;
    h = await bootApp({ env: { ARCP_ENDPOINT_CHECK: 'true', ARCP_ENDPOINT_CHECK_TIMEOUT: '1' } });
    key = await makeKey('EdDSA');
  });
  afterAll(async () => {
    await h?.close();
    agentServer.closeAllConnections();
    await new Promise((resolve) => agentServer.close(resolve));
  });

  async function validate(
    agentId: string,
    endpoint: string,
  ): Promise<{ temp: string; id: string }> {
    const temp = await requestTempToken(h, agentId, key);
    const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: temp,
      key,
      body: validationBody(agentId, { endpoint }),
    });
    expect(res.status).toBe(202);
    return { temp, id: res.body.validation_id as string };
  }

  it('passes when the endpoint answers with the same agent_id', async () => {
    const agentId = newAgentId();
    answers.set(agentId, {
      status: 200,
      body: JSON.stringify({ agent_id: agentId, status: 'healthy' }),
      delayMs: 150,
    });
    const endpoint = `${agentBase}/${agentId}`;
    const { temp, id } = await validate(agentId, endpoint);

    // The endpoint takes 150 ms to answer: the first poll sees the validation still pending.
    const first = await send(h, 'GET', `/auth/agent/validation/${id}`, { token: temp, key });
    expect(first.body).toMatchObject({ status: 'pending', retry_after: 2 });
    expect(first.headers['retry-after']).toBe('2');

    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({ status: 'passed', endpoint_check: 'passed', warnings: [] });
    const registered = await send(h, 'POST', '/agents/register', {
      token: done.body.validated_token,
      key,
      body: registrationBody(agentId, { endpoint }),
    });
    expect(registered.status).toBe(200);
  });

  it.each([
    ['identity_mismatch', { status: 200, body: JSON.stringify({ agent_id: 'someone-else' }) }],
    ['health_check_failed', { status: 500, body: '{}' }],
    ['invalid_health_response', { status: 200, body: 'not json' }],
    ['endpoint_timeout', { status: 200, body: '{}', delayMs: 1500 }],
  ])('fails with %s', async (type, answer) => {
    const agentId = newAgentId();
    answers.set(agentId, answer);
    const { temp, id } = await validate(agentId, `${agentBase}/${agentId}`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({
      status: 'failed',
      endpoint_check: 'failed',
      errors: [{ type, field: 'endpoint' }],
    });
  });

  it('fails with endpoint_unreachable when nothing listens', async () => {
    const agentId = newAgentId();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { temp, id } = await validate(agentId, `http://127.0.0.1:${port}`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({
      status: 'failed',
      errors: [{ type: 'endpoint_unreachable' }],
    });
  });

  it('warns, without failing, when the endpoint reports itself unhealthy', async () => {
    const agentId = newAgentId();
    answers.set(agentId, {
      status: 200,
      body: JSON.stringify({ agent_id: agentId, status: 'degraded' }),
    });
    const { temp, id } = await validate(agentId, `${agentBase}/${agentId}`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({ status: 'passed', warnings: [{ type: 'unhealthy_status' }] });
  });
});
