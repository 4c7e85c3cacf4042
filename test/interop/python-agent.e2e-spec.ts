import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';

/**
 * examples/python/agent.py, the README's "Writing an agent in another language" example, run
 * as a real Python process (PyJWT and cryptography) against the sample app over HTTP, so the
 * doc cannot rot. `.ci/run` installs `python3-jwt python3-cryptography`; a machine without them
 * skips this suite outside CI and fails it in CI.
 */

const AGENT = fileURLToPath(new URL('../../examples/python/agent.py', import.meta.url));
const AGENT_KEY = 'python-agent-key-0123456789';

/** The first python3 that has PyJWT and cryptography (Debian's, when pyenv shadows it). */
function findPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

const python = findPython();
if (python === undefined && process.env.CI) {
  throw new Error(
    'python3 with PyJWT and cryptography is needed (apt-get install python3-jwt python3-cryptography)',
  );
}
const describeIfPython = python === undefined ? describe.skip : describe;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python!, [AGENT, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr });
    });
  });
}

function boundTo(token: string): unknown {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
  return (payload as { cnf?: { jkt?: unknown } }).cnf?.jkt;
}

describeIfPython('the Python agent of examples/python against the sample app', () => {
  let server: SampleServer;
  beforeAll(async () => {
    server = await startSampleServer({ AGENT_KEYS: AGENT_KEY });
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each([
    ['EdDSA', 'DPoP'],
    ['ES256', 'DPoP'],
    // The spec's clients send Bearer with a proof: the sample app's compatibility setting.
    ['EdDSA', 'Bearer'],
  ])(
    'registers with %s proofs and the %s scheme, every token bound to its key',
    async (alg, scheme) => {
      const result = await run([server.url, AGENT_KEY, '--alg', alg, '--scheme', scheme]);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const out = JSON.parse(result.stdout) as {
        jkt: string;
        token_type: string;
        heartbeat: string;
        tokens: string[];
      };
      expect(out).toMatchObject({ token_type: 'DPoP', heartbeat: 'alive' });
      for (const token of out.tokens) expect(boundTo(token)).toBe(out.jkt);
    },
  );

  it('is refused with a registration key the server does not know', async () => {
    const result = await run([server.url, 'not-the-registration-key']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 401 });
  });
});
