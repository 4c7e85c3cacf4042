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
  /** Where /<agent_id>/moved/health redirects to. */
  const redirects = new Map<string, string>();
  /** Every path the fake agent was asked for. */
  const hits: string[] = [];

  beforeAll(async () => {
    agentServer = createServer((req, res) => {
      hits.push(req.url ?? '');
      const moved = /^\/([^/]+)\/moved\/health$/.exec(req.url ?? '');
      if (moved) {
        const to = redirects.get(moved[1]!);
        res.writeHead(302, { location: to ?? '/nowhere' });
        res.end();
        return;
      }
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
    // Loopback is refused unless allowed: the test agent is allowed by its address.
    h = await bootApp({
      env: {
        ARCP_ENDPOINT_CHECK: 'true',
        ARCP_ENDPOINT_CHECK_TIMEOUT: '1',
        ARCP_ENDPOINT_ALLOW: '127.0.0.1/32',
      },
    });
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

  // The client is told one generic failure, whatever went wrong (the detail is logged at debug):
  // an endpoint check must not tell a prober "closed port" from "HTTP 500" from "not JSON".
  it.each([
    ['identity_mismatch', { status: 200, body: JSON.stringify({ agent_id: 'someone-else' }) }],
    ['health_check_failed', { status: 500, body: '{}' }],
    ['invalid_health_response', { status: 200, body: 'not json' }],
    ['endpoint_timeout', { status: 200, body: '{}', delayMs: 1500 }],
  ])('fails (%s) with the one generic endpoint_check_failed', async (_cause, answer) => {
    const agentId = newAgentId();
    answers.set(agentId, answer);
    const { temp, id } = await validate(agentId, `${agentBase}/${agentId}`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({
      status: 'failed',
      endpoint_check: 'failed',
      errors: [
        {
          type: 'endpoint_check_failed',
          message: 'Endpoint health check failed',
          field: 'endpoint',
        },
      ],
    });
  });

  it('fails with the same generic failure when nothing listens', async () => {
    const agentId = newAgentId();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { temp, id } = await validate(agentId, `http://127.0.0.1:${port}`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({
      status: 'failed',
      errors: [{ type: 'endpoint_check_failed', message: 'Endpoint health check failed' }],
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

  it('follows a redirect to an allowed address, re-checking the hop', async () => {
    const agentId = newAgentId();
    answers.set(agentId, { status: 200, body: JSON.stringify({ agent_id: agentId }) });
    redirects.set(agentId, `${agentBase}/${agentId}/health`);
    const { temp, id } = await validate(agentId, `${agentBase}/${agentId}/moved`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({ status: 'passed', endpoint_check: 'passed' });
  });

  it.each([
    ['a private address', 'http://10.0.0.1/health'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data'],
    ['IPv6 loopback (not allowed)', 'http://[::1]:1/health'],
    ['a hex loopback spelling', 'http://0x7f000002/health'],
    ['a non-http scheme', 'file:///etc/passwd'],
  ])('refuses a redirect to %s without connecting', async (_name, location) => {
    const agentId = newAgentId();
    redirects.set(agentId, location);
    const { temp, id } = await validate(agentId, `${agentBase}/${agentId}/moved`);
    const done = await pollValidation(h, temp, id, key);
    expect(done.body).toMatchObject({
      status: 'failed',
      errors: [{ type: 'endpoint_check_failed' }],
    });
  });
});

describe('endpoint check without an allow-list refuses internal addresses', () => {
  let h: Harness;
  let key: TestKey;
  let agentServer: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    agentServer = createServer((_req, res) => {
      hits++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => agentServer.listen(0, '127.0.0.1', resolve));
    port = (agentServer.address() as AddressInfo).port;
    h = await bootApp({ env: { ARCP_ENDPOINT_CHECK: 'true', ARCP_ENDPOINT_CHECK_TIMEOUT: '1' } });
    key = await makeKey('EdDSA');
  });
  afterAll(async () => {
    await h?.close();
    agentServer.closeAllConnections();
    await new Promise((resolve) => agentServer.close(resolve));
  });

  it.each([
    ['127.0.0.1'],
    ['0x7f000001'],
    ['2130706433'],
    ['127.1'],
    ['[::ffff:127.0.0.1]'],
    ['localhost'],
  ])('%s: refused, and the server is never called', async (host) => {
    const agentId = newAgentId();
    const temp = await requestTempToken(h, agentId, key);
    const res = await send(h, 'POST', '/auth/agent/validate_compliance', {
      token: temp,
      key,
      body: validationBody(agentId, { endpoint: `http://${host}:${port}` }),
    });
    // Some spellings are already refused as URLs (422); the rest fail the check.
    if (res.status === 202) {
      const done = await pollValidation(h, temp, res.body.validation_id as string, key);
      expect(done.body).toMatchObject({
        status: 'failed',
        errors: [{ type: 'endpoint_check_failed' }],
      });
    } else {
      expect(res.status).toBe(422);
    }
    expect(hits).toBe(0);
  });
});
