/**
 * The whole ARCP flow against the running sample app, driven by any DPoP client: temp token,
 * compliance validation and polling, registration, heartbeat and reading the agent back. The
 * client under test makes every proof; this file only sends what it made and reads the answers.
 */

/** One request as a DPoP client sends it (the client adds its proof and the token). */
export type SendRequest = (
  method: 'GET' | 'POST',
  url: string,
  options: { token?: string; body?: unknown },
) => Promise<Response>;

/** How far the flow got: every step passed, or the first refusal with its problem `code`. */
export type FlowOutcome =
  | { readonly passed: true; readonly jkt: string }
  | {
      readonly passed: false;
      readonly step: string;
      readonly status: number;
      readonly code: unknown;
    };

let counter = 0;

/** Runs the six steps; `jkt` is what every issued token must be bound to. */
export async function runArcpFlow(
  baseUrl: string,
  agentKey: string,
  send: SendRequest,
  jkt: string,
): Promise<FlowOutcome> {
  const agentId = `interop-${process.pid}-${counter++}`;
  const url = (path: string) => `${baseUrl}${path}`;
  const step = async (
    name: string,
    method: 'GET' | 'POST',
    path: string,
    options: { token?: string; body?: unknown },
    expected: number,
  ): Promise<Record<string, unknown> | FlowOutcome> => {
    const res = await send(method, url(path), options);
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status !== expected) {
      return { passed: false, step: name, status: res.status, code: body.code };
    }
    return body;
  };
  const failed = (value: unknown): value is FlowOutcome =>
    typeof value === 'object' && value !== null && (value as FlowOutcome).passed === false;
  const boundTo = (token: unknown): string | undefined => {
    if (typeof token !== 'string') return undefined;
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    return (payload as { cnf?: { jkt?: string } }).cnf?.jkt;
  };
  const notBound = (name: string, token: unknown): FlowOutcome => ({
    passed: false,
    step: name,
    status: 200,
    code: `token bound to ${String(boundTo(token))}, not ${jkt}`,
  });

  const temp = await step(
    'request_temp_token',
    'POST',
    '/auth/agent/request_temp_token',
    { body: { agent_id: agentId, agent_type: 'automation', agent_key: agentKey } },
    200,
  );
  if (failed(temp)) return temp;
  if (boundTo(temp.temp_token) !== jkt) return notBound('request_temp_token', temp.temp_token);
  const tempToken = temp.temp_token as string;

  const started = await step(
    'validate_compliance',
    'POST',
    '/auth/agent/validate_compliance',
    {
      token: tempToken,
      body: {
        agent_id: agentId,
        agent_type: 'automation',
        endpoint: 'https://agent.example.com',
        capabilities: ['processing'],
        communication_mode: 'remote',
        version: '1.0.0',
      },
    },
    202,
  );
  if (failed(started)) return started;

  let status: Record<string, unknown> | FlowOutcome = started;
  for (
    let attempt = 0;
    attempt < 200 && !failed(status) && status.status === 'pending';
    attempt++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = await step(
      'validation status',
      'GET',
      `/auth/agent/validation/${String(started.validation_id)}`,
      { token: tempToken },
      200,
    );
  }
  if (failed(status)) return status;
  if (status.status !== 'passed') {
    return { passed: false, step: 'validation status', status: 200, code: status.status };
  }
  if (boundTo(status.validated_token) !== jkt) {
    return notBound('validation status', status.validated_token);
  }

  const registered = await step(
    'register',
    'POST',
    '/agents/register',
    {
      token: status.validated_token as string,
      body: {
        agent_id: agentId,
        name: 'Interop Agent',
        agent_type: 'automation',
        endpoint: 'https://agent.example.com',
        capabilities: ['processing'],
        context_brief: 'An agent registered by the interoperability tests.',
        owner: 'interop-tests',
        public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5',
        metadata: { suite: 'interop' },
        version: '1.0.0',
        communication_mode: 'remote',
      },
    },
    200,
  );
  if (failed(registered)) return registered;
  if (boundTo(registered.access_token) !== jkt) {
    return notBound('register', registered.access_token);
  }
  const access = registered.access_token as string;

  const beat = await step(
    'heartbeat',
    'POST',
    `/agents/${agentId}/heartbeat`,
    { token: access, body: {} },
    200,
  );
  if (failed(beat)) return beat;
  const agent = await step('GET agent', 'GET', `/agents/${agentId}`, { token: access }, 200);
  if (failed(agent)) return agent;
  if (agent.agent_id !== agentId) {
    return { passed: false, step: 'GET agent', status: 200, code: agent.agent_id };
  }
  return { passed: true, jkt };
}
