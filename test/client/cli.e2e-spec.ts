import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DPoPProofVerifier, InMemoryJtiStore } from 'nest-dpop';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { ARCPClient } from 'nest-dpop-client/arcp';
import { loadGenerator } from 'nest-dpop-client/node';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { startFakeArcp, type FakeArcpServer } from './support/fake-arcp.server.js';
import { buildCli, type BuiltCli } from './support/cli.js';

/**
 * The `dpop` CLI as a child process. `libs/dpop-client` alone is compiled into a temporary
 * directory first (about two seconds), so the test runs the code as it is now, whatever state
 * `dist/` or the rest of the project is in.
 */

let work: string;
let cli: BuiltCli;
let arcp: FakeArcpServer;

const run = (args: string[], env?: Record<string, string>) => cli.run(args, env);

beforeAll(() => {
  cli = buildCli('dpop-cli-');
  work = cli.work;
}, 60_000);

beforeAll(async () => {
  arcp = await startFakeArcp({ pendingPolls: 1 });
});

afterAll(async () => {
  await arcp?.close();
  cli?.remove();
});

describe.each([
  'EdDSA',
  'Ed25519',
  'Ed448',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const)('keygen, thumbprint, jwk, proof: %s', (alg) => {
  it.each(['jwk', 'pem'])('works with a .%s key file', async (ext) => {
    const file = `${alg}.${ext}`;
    const keygen = await run(['keygen', '--alg', alg, '--out', file]);
    expect(keygen.code).toBe(0);
    const jkt = keygen.stdout.trim();
    expect(keygen.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(keygen.stderr).toContain(`Wrote the ${alg} private key to ${file} (mode 0600)`);
    expect(statSync(join(work, file)).mode & 0o777).toBe(0o600);

    expect((await run(['thumbprint', '--key', file])).stdout).toBe(`${jkt}\n`);
    const jwk = JSON.parse((await run(['jwk', '--key', file])).stdout) as JWK;
    expect(jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint(jwk, 'sha256')).toBe(jkt);

    const url = 'http://localhost:3000/auth/agent/validate_compliance';
    const proofRun = await run([
      'proof',
      '--key',
      file,
      'POST',
      `${url}?x=1`,
      '--token',
      'the-temp-token',
      '--nonce',
      'n0nce',
      // A PEM file does not keep the alg: name it (a JWK file does).
      ...(ext === 'pem' ? ['--alg', alg] : []),
    ]);
    expect(proofRun.code).toBe(0);
    expect(proofRun.stderr).toBe('');
    expect(proofRun.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const proof = proofRun.stdout.trim();

    const verified = await new DPoPProofVerifier(new InMemoryJtiStore(), {
      algorithms: [alg],
    }).verify({
      proof,
      method: 'POST',
      url,
      accessToken: 'the-temp-token',
      expectedJkt: jkt,
    });
    expect(verified).toMatchObject({ alg, nonce: 'n0nce' });
    if (alg === 'Ed448') return; // jose 6 has no Ed448
    const { protectedHeader, payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(protectedHeader.jwk).toEqual(jwk);
    expect(payload).toMatchObject({ htm: 'POST', htu: url, nonce: 'n0nce' });
  });
});

describe('dpop CLI', () => {
  it('makes proofs that work pasted into a request, as in the spec curl examples', async () => {
    await run(['keygen', '--out', 'agent.jwk']);
    const url = `${arcp.url}/auth/agent/request_temp_token`;
    const proof = (await run(['proof', '--key', 'agent.jwk', 'POST', url])).stdout.trim();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', DPoP: proof },
      body: JSON.stringify({
        agent_id: 'my-agent',
        agent_type: 'automation',
        agent_key: arcp.agentKey,
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ token_type: 'DPoP', temp_token: expect.any(String) });
  });

  it('registers an agent through all three phases and sends a heartbeat', async () => {
    const keygen = await run(['keygen', '--alg', 'ES256', '--out', 'reg.pem']);
    const result = await run([
      'register',
      '--url',
      arcp.url,
      '--agent-id',
      'cli-agent-1',
      '--agent-key',
      arcp.agentKey,
      '--key',
      'reg.pem',
      '--capabilities',
      'processing, monitoring',
      '--heartbeat',
    ]);
    expect(result.stderr).toContain('1/3 temp token issued (DPoP)');
    expect(result.stderr).toMatch(/2\/3 validation val_[0-9a-f]+ passed/);
    expect(result.stderr).toContain("3/3 registered: Agent 'cli-agent-1' registered successfully");
    expect(result.stderr).toContain('heartbeat: alive');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toEqual({
      agent_id: 'cli-agent-1',
      jkt: keygen.stdout.trim(),
      token_type: 'DPoP',
      access_token: expect.any(String),
      expires_in: 3600,
    });

    // The access token is bound to reg.pem: the heartbeat command works with that key only.
    const token = summary.access_token as string;
    const heartbeat = ['heartbeat', '--url', arcp.url, '--agent-id', 'cli-agent-1', '--token'];
    const beat = await run([...heartbeat, token, '--key', 'reg.pem']);
    expect(beat.code).toBe(0);
    expect(JSON.parse(beat.stdout)).toMatchObject({ agent_id: 'cli-agent-1', status: 'alive' });
    await run(['keygen', '--out', 'other.jwk']);
    const stolen = await run([...heartbeat, token, '--key', 'other.jwk']);
    expect(stolen.code).toBe(1);
    expect(stolen.stderr).toContain('[ERR_DPOP_BINDING_MISMATCH]');
    expect(stolen.stdout).toBe('');
  });

  it('registers with a one-off key, and the agent key from ARCP_AGENT_KEY', async () => {
    const args = ['register', '--url', arcp.url, '--agent-id', 'cli-agent-2', '--alg', 'RS256'];
    const result = await run(args, { ARCP_AGENT_KEY: arcp.agentKey });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('No --key: using a one-off RS256 key');
  });

  it('shows the server problem when registration is refused', async () => {
    const result = await run([
      'register',
      '--url',
      arcp.url,
      '--agent-id',
      'cli-agent-3',
      '--agent-key',
      'not-the-key-000',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[ERR_ARCP_AUTHENTICATION_FAILED]');
    expect(result.stderr).toContain(
      '"detail": "Authentication failed: Invalid agent registration key"',
    );
    expect(result.stdout).toBe('');
  });

  it('refuses a key file that group or others can read', async () => {
    await run(['keygen', '--out', 'loose.jwk']);
    chmodSync(join(work, 'loose.jwk'), 0o644);
    const result = await run(['proof', '--key', 'loose.jwk', 'GET', 'http://localhost:3000/x']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('chmod 600 loose.jwk');
    expect(result.stderr).toContain('[ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS]');
  });

  it('takes the token from --token-file or DPOP_TOKEN, keeping it out of argv', async () => {
    await run(['keygen', '--alg', 'ES256', '--out', 'tok.jwk']);
    const reg = await run(
      ['register', '--url', arcp.url, '--agent-id', 'cli-agent-tok', '--key', 'tok.jwk'],
      { ARCP_AGENT_KEY: arcp.agentKey },
    );
    expect(reg.code).toBe(0);
    const token = (JSON.parse(reg.stdout) as { access_token: string }).access_token;
    const heartbeat = ['heartbeat', '--url', arcp.url, '--agent-id', 'cli-agent-tok'];
    const beat = [...heartbeat, '--key', 'tok.jwk'];

    // As `echo "$TOKEN" > FILE` leaves it: one trailing newline, not part of the token.
    writeFileSync(join(work, 'token.txt'), `${token}\n`, { mode: 0o600 });
    const fromFile = await run([...beat, '--token-file', 'token.txt']);
    expect(fromFile.stderr).toBe('');
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ agent_id: 'cli-agent-tok' });

    const fromEnv = await run(beat, { DPOP_TOKEN: token });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toContain('Using the access token in DPOP_TOKEN');
    // The options win over the variable: a wrong one there is not used.
    const both = await run([...beat, '--token-file', 'token.txt'], { DPOP_TOKEN: 'stale' });
    expect(both.code).toBe(0);

    // The proof made with a token file carries the hash of the token, newline dropped.
    const url = `${arcp.url}/agents/cli-agent-tok`;
    const proof = await run(['proof', '--key', 'tok.jwk', 'GET', url, '--token-file', 'token.txt']);
    expect(proof.code).toBe(0);
    const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), { algorithms: ['ES256'] });
    const proofArgs = { proof: proof.stdout.trim(), method: 'GET', url };
    await expect(verifier.verify({ ...proofArgs, accessToken: token })).resolves.toBeDefined();

    // A token file others can read is refused, as a key file is, and nothing is sent.
    writeFileSync(join(work, 'loose-token.txt'), token);
    chmodSync(join(work, 'loose-token.txt'), 0o640);
    const loose = await run([...beat, '--token-file', 'loose-token.txt']);
    expect(loose.code).toBe(1);
    expect(loose.stdout).toBe('');
    expect(loose.stderr).toContain(
      'token file loose-token.txt is accessible by group or others (mode 0640); run: chmod 600',
    );
    const missing = await run([...beat, '--token-file', 'no-such-token.txt']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read token file no-such-token.txt');
  });

  it.each([
    [['--token', 't', '--token-file', 'token.txt'], '--token and --token-file'],
    [['--token-file', ''], '--token-file must not be empty'],
    [['--token-file', 'empty-token.txt'], 'token file empty-token.txt is empty'],
    [['--token-file', 'two-lines.txt'], 'token file two-lines.txt holds more than one line'],
    [[], '--token, --token-file or DPOP_TOKEN is required'],
  ])('exits 2 on token usage errors: %j', async (extra, message) => {
    writeFileSync(join(work, 'empty-token.txt'), '\n', { mode: 0o600 });
    writeFileSync(join(work, 'two-lines.txt'), 'a\nb\n', { mode: 0o600 });
    const args = ['--url', 'http://x', '--agent-id', 'a', '--key', 'k.jwk', ...extra];
    // An empty DPOP_TOKEN is no token.
    const result = await run(['heartbeat', ...args], { DPOP_TOKEN: '' });
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('does not overwrite a key file unless --force is given', async () => {
    await run(['keygen', '--out', 'keep.jwk']);
    const before = readFileSync(join(work, 'keep.jwk'), 'utf8');
    const again = await run(['keygen', '--out', 'keep.jwk']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[ERR_DPOP_CLIENT_KEY_FILE_EXISTS]');
    expect(again.stderr).toContain(
      'keep.jwk already exists; not overwriting it (--force replaces it',
    );
    expect(readFileSync(join(work, 'keep.jwk'), 'utf8')).toBe(before);
    expect((await run(['keygen', '--out', 'keep.jwk', '--force'])).code).toBe(0);
    expect(readFileSync(join(work, 'keep.jwk'), 'utf8')).not.toBe(before);
  });

  it('encrypts a PEM key with a passphrase from the environment', async () => {
    const env = { KEY_PASSPHRASE: 'correct horse battery staple' };
    const passphrase = ['--passphrase-env', 'KEY_PASSPHRASE'];
    const keygen = await run(['keygen', '--out', 'secret.pem', ...passphrase], env);
    expect(keygen.code).toBe(0);
    expect(readFileSync(join(work, 'secret.pem'), 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
    const without = await run(['thumbprint', '--key', 'secret.pem']);
    expect(without.stderr).toContain('a passphrase is needed');
    const ok = await run(['thumbprint', '--key', 'secret.pem', ...passphrase], env);
    expect(ok.stdout).toBe(keygen.stdout);
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [[], 'Usage: dpop <command>'],
    [['proof', 'GET', 'http://x/'], '--key is required'],
    [['proof', '--key', 'any.jwk', 'GET'], 'proof needs METHOD and URL'],
    [['keygen', '--alg', 'HS256'], '--alg must be one of EdDSA, Ed25519, Ed448, ES256, ES384'],
    [['keygen', '--bogus'], 'unknown option --bogus'],
    [['keygen', '--out'], '--out needs a value'],
    [['keygen', '--force=yes'], '--force takes no value'],
    [['proof', '--key', 'any.jwk', 'GET', 'http://x/', '--token', ''], '--token must not be empty'],
    [['proof', '--key', 'any.jwk', 'GET', 'http://x/', '--nonce='], '--nonce must not be empty'],
    [
      ['heartbeat', '--url', 'http://x', '--agent-id', 'a', '--key', 'k', '--token', ''],
      '--token must not be empty',
    ],
    [['register', '--url', 'http://x'], '--agent-id is required'],
  ])('exits 2 on usage errors: %j', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits 1 on a URL a proof cannot be made for', async () => {
    await run(['keygen', '--out', 'url.jwk']);
    const result = await run(['proof', '--key', 'url.jwk', 'GET', 'ftp://x/']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[ERR_DPOP_CLIENT_INVALID_REQUEST]');
  });

  it('prints help on stdout', async () => {
    const result = await run(['help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('keygen [--alg ALG] [--out FILE]');
    expect(result.stdout).toContain('EdDSA, Ed25519, Ed448, ES256, ES384, ES512, RS256');
    expect(result.stdout).toContain('--token-file FILE reads it');
    expect(result.stdout).toContain('DPOP_TOKEN');
  });
});

describe('dpop request, against the sample app that requires nonces (DPOP_NONCE_REQUIRED=true)', () => {
  const AGENT_KEY = 'cli-request-agent-key-0123456789';
  let server: SampleServer;
  beforeAll(async () => {
    server = await startSampleServer({ AGENT_KEYS: AGENT_KEY, DPOP_NONCE_REQUIRED: 'true' });
    await run(['keygen', '--out', 'request.jwk']);
  });
  afterAll(async () => {
    await server?.close();
  });

  const tempTokenBody = (agentId: string): string =>
    JSON.stringify({ agent_id: agentId, agent_type: 'automation', agent_key: AGENT_KEY });

  it('a bare proof (dpop proof + a plain client) meets the nonce challenge', async () => {
    const url = `${server.url}/auth/agent/request_temp_token`;
    const proof = (await run(['proof', '--key', 'request.jwk', 'POST', url])).stdout.trim();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', DPoP: proof },
      body: tempTokenBody('cli-bare-agent'),
    });
    expect([400, 401]).toContain(res.status);
    expect(res.headers.get('DPoP-Nonce')).toEqual(expect.any(String));
    expect(JSON.stringify(await res.json())).toContain('use_dpop_nonce');
  });

  it('does the use_dpop_nonce round trip itself and prints the answer', async () => {
    const url = `${server.url}/auth/agent/request_temp_token`;
    const result = await run([
      'request',
      'POST',
      url,
      '--key',
      'request.jwk',
      '--data',
      tempTokenBody('cli-request-agent'),
    ]);
    expect(result.stderr).toContain('use_dpop_nonce');
    expect(result.stderr).toContain('HTTP 200');
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as { temp_token: string; token_type: string };
    expect(answer.token_type).toBe('DPoP');
    // Bound to the key in the file.
    const jkt = (await run(['thumbprint', '--key', 'request.jwk'])).stdout.trim();
    const claims = JSON.parse(
      Buffer.from(answer.temp_token.split('.')[1]!, 'base64url').toString(),
    ) as { cnf?: { jkt?: string } };
    expect(claims.cnf).toEqual({ jkt });
  });

  it('sends a token with ath to a bound route (heartbeat), and reads the body from a file', async () => {
    const generator = await loadGenerator(join(work, 'request.jwk'));
    const agentId = `cli-request-${process.pid}`;
    const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
    const { accessToken } = await client.register({
      agent_key: AGENT_KEY,
      registration: {
        agent_id: agentId,
        name: 'CLI Agent',
        agent_type: 'automation',
        endpoint: 'https://agent.example.com:8443',
        capabilities: ['processing'],
        context_brief: 'An agent whose heartbeat the dpop CLI sends',
        owner: 'cli-test',
        public_key: generator.publicKeyPem,
        metadata: { suite: 'cli' },
        version: '1.0.0',
        communication_mode: 'remote',
      },
    });
    writeFileSync(join(work, 'beat.json'), '{}');
    const url = `${server.url}/agents/${agentId}/heartbeat`;
    const args = ['request', 'POST', url, '--key', 'request.jwk', '--data', '@beat.json'];
    const ok = await run([...args, '--token', accessToken.value, '--include']);
    expect(ok.stderr).toContain('HTTP 200');
    expect(ok.stderr).toMatch(/content-type: application\/json/i);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ agent_id: agentId, status: 'alive' });

    // The same, with the token in a file or in DPOP_TOKEN rather than in argv.
    writeFileSync(join(work, 'request-token.txt'), `${accessToken.value}\n`, { mode: 0o600 });
    const fromFile = await run([...args, '--token-file', 'request-token.txt']);
    expect(fromFile.stderr).toContain('HTTP 200');
    expect(fromFile.code).toBe(0);
    const fromEnv = await run(args, { DPOP_TOKEN: accessToken.value });
    expect(fromEnv.stderr).toContain('HTTP 200');
    expect(fromEnv.code).toBe(0);

    // Another key with the same token: the server's refusal is printed, and the exit code is 1.
    await run(['keygen', '--out', 'thief.jwk']);
    const thief = await run([
      'request',
      'POST',
      url,
      '--key',
      'thief.jwk',
      '--data',
      '{}',
      '--token',
      accessToken.value,
    ]);
    expect(thief.code).toBe(1);
    expect(thief.stderr).toContain('HTTP 401');
    expect(JSON.parse(thief.stdout)).toMatchObject({ code: 'ERR_DPOP_BINDING_MISMATCH' });
  });

  it.each([
    [['request', 'GET'], 'request needs METHOD and URL'],
    [['request', 'GET', 'http://x/'], '--key is required'],
    [['request', 'GET', 'http://x/', '--key', 'k', '--header', 'nocolon'], '--header must be'],
    [['request', 'GET', 'http://x/', '--key', 'k', '--header', 'DPoP: x'], 'set by the command'],
    [['request', 'GET', 'http://x/', '--key', 'k', '--token-type', 'Basic'], '--token-type'],
    [
      ['request', 'GET', 'http://x/', '--key', 'k', '--token', 't', '--token-file', 'f'],
      '--token-file',
    ],
  ])('exits 2 on usage errors: %j', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
