/**
 * `npm run demo [-- --url BASE --agent-key KEY] [--alg ALG]`: an agent registers
 * with ARCP through all three phases using the DPoP client, sends a heartbeat, and then a thief
 * who has its access token (but not its private key) is refused three ways. Without `--url`
 * the sample app is started in this process on its embedded defaults.
 */
import {
  ARCPClient,
  ARCPClientError,
  DPOP_CLIENT_ALGORITHMS,
  DPoPGenerator,
  type DPoPClientAlgorithm,
  type IssuedToken,
} from 'nest-dpop-client';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** A running ARCP server; when absent the sample app is started here. */
  url?: string;
  /** Its agent registration key (required with `url`). */
  agentKey?: string;
  alg?: DPoPClientAlgorithm;
  /** Where lines go. Default: stdout. */
  print?: (line: string) => void;
  /** Poll interval override (tests); default: what the server suggests. */
  pollIntervalMs?: number;
}

/** What the demo established. */
export interface DemoResult {
  /** Registration succeeded and every theft attempt was refused. */
  ok: boolean;
  agentId: string;
  jkt: string;
  /** The codes the server refused the thief with, in order. */
  refusals: string[];
}

/** The `cnf.jkt` of a JWT, read without verification (the demo only displays it). */
function boundJkt(token: string): string | undefined {
  try {
    return (decodeSegment(token.split('.')[1] ?? '') as { cnf?: { jkt?: string } }).cnf?.jkt;
  } catch {
    return undefined;
  }
}

function decodeSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

/** A request outside the client (as an attacker would send it); a refusal becomes an error. */
async function sendRaw(url: string | URL, init: RequestInit): Promise<void> {
  const res = await fetch(url, init);
  if (res.ok) return;
  const problem = (await res.json()) as { code?: string; detail?: string };
  throw new ARCPClientError(problem.code ?? 'ERR_ARCP_HTTP', problem.detail ?? res.statusText, {
    status: res.status,
    problem,
  });
}

/**
 * Runs the demo and prints each step.
 * @returns whether everything behaved as DPoP promises
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const alg = options.alg ?? 'EdDSA';
  let close: (() => Promise<void>) | undefined;
  let baseUrl = options.url;
  let agentKey = options.agentKey;

  print('nest-dpop demo: an agent registers with ARCP using DPoP (RFC 9449)\n');
  if (baseUrl === undefined) {
    // Loaded only here: with --url the demo needs no NestJS at all.
    const { startSampleServer } = await import('./sample-server.js');
    // The in-process app accepts the chosen algorithm, opt-in ones included.
    const server = await startSampleServer({ DPOP_ALGORITHMS: DPOP_CLIENT_ALGORITHMS.join(',') });
    close = server.close;
    baseUrl = server.url;
    agentKey = server.agentKey;
    print(
      `Server     ${baseUrl}  (the sample app, started in this process: ` +
        'memory storage, DPoP optional)',
    );
  } else {
    if (agentKey === undefined) {
      throw new Error('--agent-key (or ARCP_AGENT_KEY) is needed with --url');
    }
    print(`Server     ${baseUrl}`);
  }

  try {
    const generator = await DPoPGenerator.generate(alg);
    // A name of its own per run: the sample app refuses an agent id that is still alive.
    const suffix = generator.jkt
      .slice(0, 8)
      .replace(/[^A-Za-z0-9]/g, 'x')
      .toLowerCase();
    const agentId = `demo-agent-${suffix}`;
    print(`Agent      ${agentId} (type automation)`);
    print(`Key        ${alg} key pair made for this run, JWK thumbprint (jkt) ${generator.jkt}`);

    // Every request the client makes, as it goes on the wire.
    let lastAuthorized: { url: string; method: string; headers: Headers } | undefined;
    let firstProofShown = false;
    const loggingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : input);
      const headers = new Headers(init?.headers);
      const method = init?.method ?? 'GET';
      const scheme = headers.get('Authorization')?.split(' ')[0];
      const sent = scheme === undefined ? 'DPoP proof' : `DPoP proof + ${scheme} token`;
      const line = `${method.padEnd(4)} ${url.pathname.padEnd(48)} ${sent}`;
      print(`           ${line}  → ${response.status}`);
      const proof = headers.get('DPoP');
      if (proof !== null && !firstProofShown) {
        firstProofShown = true;
        const [header, payload] = proof.split('.');
        print(`           the proof's header:  ${JSON.stringify(decodeSegment(header!))}`);
        print(`           the proof's payload: ${JSON.stringify(decodeSegment(payload!))}`);
      }
      if (scheme !== undefined) lastAuthorized = { url: url.href, method, headers };
      return response;
    };

    const client = new ARCPClient({
      baseUrl,
      generator,
      fetch: loggingFetch,
      ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
    });
    const describeToken = (label: string, token: IssuedToken): string => {
      const bound = boundJkt(token.value) === generator.jkt;
      const binding = bound ? 'bound to our key: its cnf.jkt is our jkt' : 'not bound to a key';
      return `${label} token (${token.type}), ${binding}`;
    };

    print('\nPhase 1    temp token for the registration key');
    const { registration, accessToken } = await client.register({
      agent_key: agentKey,
      registration: {
        agent_id: agentId,
        name: 'Demo Agent',
        agent_type: 'automation',
        endpoint: 'http://localhost:8080',
        capabilities: ['processing', 'monitoring'],
        context_brief: 'A demonstration agent registered by the nest-dpop client demo.',
        owner: 'nest-dpop demo',
        public_key: generator.publicKeyPem,
        metadata: { demo: true },
        version: '1.0.0',
        communication_mode: 'remote',
      },
      onStep: (step) => {
        switch (step.phase) {
          case 'temp_token':
            print(`           ✓ ${describeToken('temp', step.response.token)}`);
            print('\nPhase 2    compliance validation, polled until it is decided');
            break;
          case 'validation_pending':
            print(`           … validation ${step.response.validation_id ?? ''} pending`);
            break;
          case 'validation_passed':
            print(
              `           ✓ validation passed: ${describeToken('validated', step.response.token)}`,
            );
            print('\nPhase 3    registration with the validated token');
            break;
          case 'registered':
            print(`           ✓ ${step.response.message ?? 'registered'}`);
            print(`           ✓ ${describeToken('access', step.response.token)}`);
            break;
        }
      },
    });

    print('\nHeartbeat  with the access token and a fresh proof');
    const beat = await client.heartbeat(registration.agent_id);
    print(`           ✓ ${beat.status ?? 'ok'}, last seen ${beat.last_seen ?? '?'}`);

    print('\nTheft      an attacker copies the access token, but has no private key');
    const refusals: string[] = [];
    let ok = true;
    const expectRefusal = async (label: string, attempt: () => Promise<unknown>): Promise<void> => {
      try {
        await attempt();
        ok = false;
        print(`           ✗ ${label}: ACCEPTED (this should not happen)`);
      } catch (error) {
        if (!(error instanceof ARCPClientError) || error.status === undefined) throw error;
        refusals.push(error.code);
        const why = error.problem?.detail ?? error.message;
        print(`           ✓ ${label}: refused, ${error.status} ${error.code} (${why})`);
      }
    };
    const thief = new ARCPClient({ baseUrl, generator: await DPoPGenerator.generate(alg) });
    await expectRefusal("with a proof from the attacker's own key", () =>
      thief.heartbeat(registration.agent_id, { accessToken }),
    );
    await expectRefusal('as a plain Bearer token, without a proof', () =>
      sendRaw(new URL(`agents/${registration.agent_id}/heartbeat`, client.baseUrl), {
        method: 'POST',
        headers: { Authorization: `Bearer ${accessToken.value}` },
      }),
    );
    await expectRefusal('replaying the proof the agent just sent', () => {
      const captured = lastAuthorized!;
      return sendRaw(captured.url, { method: captured.method, headers: captured.headers });
    });

    print(
      ok
        ? '\nDone: registered over DPoP, and the stolen token was useless.'
        : '\nDone, with FAILURES above.',
    );
    return { ok, agentId: registration.agent_id, jkt: generator.jkt, refusals };
  } finally {
    await close?.();
  }
}

function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i !== -1) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const alg = argValue(argv, '--alg') ?? 'EdDSA';
  if (!(DPOP_CLIENT_ALGORITHMS as readonly string[]).includes(alg)) {
    process.stderr.write(`demo: --alg must be one of ${DPOP_CLIENT_ALGORITHMS.join(', ')}\n`);
    process.exit(2);
  }
  try {
    const result = await runDemo({
      url: argValue(argv, '--url'),
      agentKey: argValue(argv, '--agent-key') ?? process.env.ARCP_AGENT_KEY,
      alg: alg as DPoPClientAlgorithm,
    });
    process.exitCode = result.ok ? 0 : 1;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`demo failed: ${message}\n`);
    if (error instanceof ARCPClientError && error.problem) {
      process.stderr.write(`${JSON.stringify(error.problem, null, 2)}\n`);
    }
    process.exitCode = 1;
  }
}
