import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { DPoPGenerator } from 'nest-dpop-client';
import { ARCPClient, ARCPClientError, type AgentRegistration } from 'nest-dpop-client/arcp';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { buildCli, type BuiltCli } from './support/cli.js';

/**
 * Key rotation from the agent's side (issue 22, item 5): `ARCPClient.rotateKey` and `dpop
 * rotate` against the sample app, whose heartbeat timeout is 1 s here. The app's own rules are
 * pinned by test/app/key-rotation.e2e-spec.ts; this shows the client follows them end to end.
 */
const AGENT_KEY = 'rotation-agent-key-0123456789';
let server: SampleServer;
let work: string;
let cli: BuiltCli;

beforeAll(async () => {
  server = await startSampleServer({ AGENT_KEYS: AGENT_KEY, AGENT_HEARTBEAT_TIMEOUT: '1' });
});

afterAll(async () => {
  await server?.close();
  cli?.remove();
});

let serial = 0;
const newAgentId = (): string => `rotating-${process.pid}-${++serial}`;

function registration(agentId: string, generator: DPoPGenerator): AgentRegistration {
  return {
    agent_id: agentId,
    name: 'Rotating Agent',
    agent_type: 'automation',
    endpoint: 'https://agent.example.com:8443',
    capabilities: ['processing'],
    context_brief: 'An agent that moves to a new DPoP key',
    owner: 'rotation-test',
    public_key: generator.publicKeyPem,
    metadata: { suite: 'rotation', dpop_alg: generator.algorithm },
    version: '1.0.0',
    communication_mode: 'remote',
  };
}

async function registered(agentId: string, alg: 'ES256' | 'EdDSA' = 'ES256') {
  const generator = await DPoPGenerator.generate(alg);
  const client = new ARCPClient({ baseUrl: server.url, generator, pollIntervalMs: 25 });
  await client.register({ agent_key: AGENT_KEY, registration: registration(agentId, generator) });
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<ARCPClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ARCPClientError);
  return error as ARCPClientError;
}

describe('ARCPClient.rotateKey', () => {
  it('waits out the heartbeat timeout, registers with the new key; the old token is refused', async () => {
    const agentId = newAgentId();
    const client = await registered(agentId);
    const oldToken = client.accessToken!;
    await client.heartbeat(agentId);

    const next = await DPoPGenerator.generate('EdDSA');
    const waits: unknown[] = [];
    const result = await client.rotateKey(next, {
      agent_id: agentId,
      agent_key: AGENT_KEY,
      lapsePollIntervalMs: 100,
      onWaiting: (agent) => waits.push(agent.status),
    });
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits)).toEqual(new Set(['alive']));
    expect(result).toMatchObject({ previousJkt: client.jkt, jkt: next.jkt });
    expect(decodeJwt(result.accessToken.value).cnf).toEqual({ jkt: next.jkt });
    expect(result.client.generator).toBe(next);
    expect(result.client.accessToken).toEqual(result.accessToken);

    // The new client works; the registry holds the new key, and the rest of the record as it was.
    expect(await result.client.heartbeat(agentId)).toMatchObject({ status: 'alive' });
    expect(await result.client.getAgent(agentId)).toMatchObject({
      dpop_jkt: next.jkt,
      public_key: next.publicKeyPem.trim(),
      name: 'Rotating Agent',
      // ES256 to EdDSA: the record names the new key's algorithm, and keeps the rest.
      metadata: { suite: 'rotation', dpop_alg: 'EdDSA' },
    });

    // The old token, with fresh proofs from the old key, is refused; rotateKey saw that too.
    expect(result.oldTokenRefusal).toMatchObject({
      status: 401,
      code: 'ERR_ARCP_TOKEN_INVALID',
      problem: { error_code: 'REGISTRATION_SUPERSEDED' },
    });
    const beat = await refusal(client.heartbeat(agentId, { accessToken: oldToken }));
    expect(beat).toMatchObject({ status: 401, problem: { error_code: 'REGISTRATION_SUPERSEDED' } });

    // The old client cannot rotate again: its token no longer speaks for the agent.
    const again = await refusal(
      client.rotateKey(await DPoPGenerator.generate(), { agent_id: agentId, agent_key: AGENT_KEY }),
    );
    expect(again).toMatchObject({
      status: 401,
      problem: { error_code: 'REGISTRATION_SUPERSEDED' },
    });
    expect(await result.client.getAgent(agentId)).toMatchObject({ dpop_jkt: next.jkt });
  });

  it('gives up while the agent keeps heartbeating, and changes nothing', async () => {
    const agentId = newAgentId();
    const client = await registered(agentId);
    const beats = setInterval(() => void client.heartbeat(agentId).catch(() => undefined), 250);
    try {
      const error = await refusal(
        client.rotateKey(await DPoPGenerator.generate(), {
          agent_id: agentId,
          agent_key: AGENT_KEY,
          lapseTimeoutMs: 1500,
          lapsePollIntervalMs: 100,
        }),
      );
      expect(error.code).toBe('ERR_ARCP_AGENT_STILL_ALIVE');
      expect(error.message).toContain('stop its heartbeats');
    } finally {
      clearInterval(beats);
    }
    expect(await client.getAgent(agentId)).toMatchObject({ dpop_jkt: client.jkt });
  });

  it('refuses the same key, and a registration for another agent', async () => {
    const agentId = newAgentId();
    const client = await registered(agentId);
    const same = await refusal(
      client.rotateKey(client.generator, { agent_id: agentId, agent_key: AGENT_KEY }),
    );
    expect(same.code).toBe('ERR_ARCP_ROTATION_SAME_KEY');
    const next = await DPoPGenerator.generate();
    const other = await refusal(
      client.rotateKey(next, {
        agent_id: agentId,
        agent_key: AGENT_KEY,
        lapsePollIntervalMs: 100,
        registration: (current) => ({ ...current, agent_id: 'someone-else' }),
      }),
    );
    expect(other.code).toBe('ERR_ARCP_ROTATION_AGENT_ID');
    expect(await client.getAgent(agentId)).toMatchObject({ dpop_jkt: client.jkt });
  });
});

const run = (args: string[], env?: Record<string, string>) => cli.run(args, env);

describe('dpop rotate', () => {
  beforeAll(() => {
    // Compiled from libs/dpop-client alone, as cli.e2e-spec.ts does.
    cli = buildCli('dpop-rotate-', 30_000);
    work = cli.work;
  }, 60_000);

  /** `secret`: the key file is an encrypted PEM, its passphrase in PASSPHRASE. */
  const registerWithCli = async (agentId: string, keyFile: string, secret?: string) => {
    const encrypted = secret === undefined ? [] : ['--passphrase-env', 'PASSPHRASE'];
    const env: Record<string, string> = secret === undefined ? {} : { PASSPHRASE: secret };
    const keygen = await run(['keygen', '--alg', 'ES256', '--out', keyFile, ...encrypted], env);
    expect(keygen.code).toBe(0);
    const reg = await run(
      ['register', '--url', server.url, '--agent-id', agentId, '--key', keyFile, ...encrypted],
      { ARCP_AGENT_KEY: AGENT_KEY, ...env },
    );
    expect(reg.code).toBe(0);
    return JSON.parse(reg.stdout) as { access_token: string; jkt: string };
  };

  it('moves the agent to a new key file; the old token is refused, the new one accepted', async () => {
    const agentId = newAgentId();
    const old = await registerWithCli(agentId, 'old.jwk');

    const rotated = await run(
      [
        'rotate',
        '--url',
        server.url,
        '--agent-id',
        agentId,
        '--key',
        'old.jwk',
        '--token',
        old.access_token,
        '--new-key',
        'new.jwk',
        '--heartbeat',
      ],
      { ARCP_AGENT_KEY: AGENT_KEY },
    );
    expect(rotated.stderr).toContain('waiting for its heartbeat timeout');
    expect(rotated.stderr).toContain('now refused: 401 REGISTRATION_SUPERSEDED');
    expect(rotated.stderr).toContain('The old key file old.jwk is no longer needed: delete it');
    expect(rotated.code).toBe(0);
    const answer = JSON.parse(rotated.stdout) as Record<string, string>;
    const newJkt = (await run(['thumbprint', '--key', 'new.jwk'])).stdout.trim();
    expect(answer).toMatchObject({
      agent_id: agentId,
      jkt: newJkt,
      previous_jkt: old.jkt,
      token_type: 'DPoP',
    });
    expect(decodeJwt(answer.access_token!).cnf).toEqual({ jkt: newJkt });
    // The new key keeps the old one's algorithm, and is the owner's alone; the old file stays.
    expect(JSON.parse((await run(['jwk', '--key', 'new.jwk'])).stdout)).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
    });
    expect(statSync(join(work, 'new.jwk')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(work, 'old.jwk'))).toBe(true);

    const beat = (key: string, token: string) =>
      run([
        'heartbeat',
        '--url',
        server.url,
        '--agent-id',
        agentId,
        '--key',
        key,
        '--token',
        token,
      ]);
    const refused = await beat('old.jwk', old.access_token);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401');
    expect(refused.stderr).toContain('REGISTRATION_SUPERSEDED');
    const accepted = await beat('new.jwk', answer.access_token!);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ agent_id: agentId, status: 'alive' });
  });

  it('rotates to another algorithm with the token from a file; the record names the new one', async () => {
    const agentId = newAgentId();
    const old = await registerWithCli(agentId, 'es-old.jwk');
    writeFileSync(join(work, 'old-token'), `${old.access_token}\n`, { mode: 0o600 });
    const args = ['--url', server.url, '--agent-id', agentId];
    const rotated = await run(
      [
        'rotate',
        ...args,
        '--key',
        'es-old.jwk',
        '--token-file',
        'old-token',
        '--new-key',
        'ed-new.jwk',
        '--alg',
        'EdDSA',
      ],
      { ARCP_AGENT_KEY: AGENT_KEY },
    );
    expect(rotated.stderr).toContain('now refused: 401 REGISTRATION_SUPERSEDED');
    expect(rotated.code).toBe(0);
    const answer = JSON.parse(rotated.stdout) as { access_token: string };

    // The agent's record, read with the new key and token (given through DPOP_TOKEN).
    const url = `${server.url}/agents/${agentId}`;
    const record = await run(['request', 'GET', url, '--key', 'ed-new.jwk'], {
      DPOP_TOKEN: answer.access_token,
    });
    expect(record.code).toBe(0);
    expect(JSON.parse(record.stdout)).toMatchObject({
      metadata: { client: 'nest-dpop dpop-client CLI', dpop_alg: 'EdDSA' },
    });
  });

  it('writes the new key encrypted like the old one: same passphrase, PEM', async () => {
    const agentId = newAgentId();
    const secret = 'rotation passphrase 0123';
    const old = await registerWithCli(agentId, 'enc-old.pem', secret);
    expect(readFileSync(join(work, 'enc-old.pem'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED/);
    const rotated = await run(
      [
        'rotate',
        '--url',
        server.url,
        '--agent-id',
        agentId,
        '--key',
        'enc-old.pem',
        '--passphrase-env',
        'PASSPHRASE',
        '--token',
        old.access_token,
        '--new-key',
        'enc-new.pem',
      ],
      { ARCP_AGENT_KEY: AGENT_KEY, PASSPHRASE: secret },
    );
    expect(rotated.stderr).toContain('now refused: 401 REGISTRATION_SUPERSEDED');
    expect(rotated.stderr).toContain('(mode 0600, encrypted with the passphrase in PASSPHRASE)');
    expect(rotated.code).toBe(0);
    const answer = JSON.parse(rotated.stdout) as { jkt: string; access_token: string };

    // An encrypted PKCS#8 file, the owner's alone: useless without the passphrase, and with it
    // the key the server now knows.
    const text = readFileSync(join(work, 'enc-new.pem'), 'utf8');
    expect(text).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(text).not.toContain('BEGIN PRIVATE KEY');
    expect(statSync(join(work, 'enc-new.pem')).mode & 0o777).toBe(0o600);
    const without = await run(['thumbprint', '--key', 'enc-new.pem']);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('enc-new.pem is encrypted: a passphrase is needed');
    const wrong = await run(['thumbprint', '--key', 'enc-new.pem', '--passphrase-env', 'P'], {
      P: 'not the passphrase',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong passphrase');
    const withIt = await run(['thumbprint', '--key', 'enc-new.pem', '--passphrase-env', 'P'], {
      P: secret,
    });
    expect(withIt.code).toBe(0);
    expect(withIt.stdout.trim()).toBe(answer.jkt);
    expect(answer.jkt).not.toBe(old.jkt);

    const beat = await run(
      [
        'heartbeat',
        '--url',
        server.url,
        '--agent-id',
        agentId,
        '--key',
        'enc-new.pem',
        '--passphrase-env',
        'P',
        '--token',
        answer.access_token,
      ],
      { P: secret },
    );
    expect(beat.code).toBe(0);
  });

  it.each(['enc-next.jwk', 'enc-next.key'])(
    'refuses to write %s (a format that cannot be encrypted) for an encrypted key: exit 2, nothing written',
    async (newKey) => {
      const agentId = newAgentId();
      const secret = 'another passphrase 4567';
      const keyFile = `enc-keep-${serial}.pem`;
      const old = await registerWithCli(agentId, keyFile, secret);
      const args = ['--url', server.url, '--agent-id', agentId, '--key', keyFile];
      const encrypted = ['--passphrase-env', 'PASSPHRASE'];
      const result = await run(
        ['rotate', ...args, ...encrypted, '--token', old.access_token, '--new-key', newKey],
        { ARCP_AGENT_KEY: AGENT_KEY, PASSPHRASE: secret },
      );
      expect(result.stderr).toContain(
        `--new-key ${newKey} cannot be encrypted: with --passphrase-env, NEW_FILE must be a .pem file`,
      );
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(existsSync(join(work, newKey))).toBe(false);
      // The agent was left alone: the old key and token still work.
      const beat = await run(['heartbeat', ...args, ...encrypted, '--token', old.access_token], {
        PASSPHRASE: secret,
      });
      expect(beat.code).toBe(0);
    },
  );

  it('never overwrites a key file, and then changes nothing', async () => {
    const agentId = newAgentId();
    const old = await registerWithCli(agentId, 'keep-old.jwk');
    expect((await run(['keygen', '--out', 'taken.jwk'])).code).toBe(0);
    const args = ['--url', server.url, '--agent-id', agentId, '--key', 'keep-old.jwk'];
    const result = await run(
      ['rotate', ...args, '--token', old.access_token, '--new-key', 'taken.jwk'],
      { ARCP_AGENT_KEY: AGENT_KEY },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_DPOP_CLIENT_KEY_FILE_EXISTS');
    const beat = await run(['heartbeat', ...args, '--token', old.access_token]);
    expect(beat.code).toBe(0);
  });

  it.each([
    [['--new-key', 'x.jwk'], '--token, --token-file or DPOP_TOKEN is required'],
    [['--token', 't', '--token-file', 'f', '--new-key', 'x.jwk'], '--token and --token-file'],
    [['--token', 't'], '--new-key is required'],
    [['--token', 't', '--new-key', 'k.jwk'], '--new-key must be another file'],
    [['--token', 't', '--new-key', 'x.jwk', '--wait', '0'], '--wait must be'],
    [['--token', 't', '--new-key', 'x.jwk', '--alg', 'HS256'], '--alg must be one of'],
  ])('exits 2 on usage errors: %j', async (extra, message) => {
    const result = await run(
      ['rotate', '--url', 'http://x/', '--agent-id', 'a', '--key', 'k.jwk', ...extra],
      { ARCP_AGENT_KEY: AGENT_KEY },
    );
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
  });

  it('is in the usage text', async () => {
    const help = await run(['help']);
    expect(help.stdout).toContain('rotate --url BASE --agent-id ID --key OLD_FILE --token TOKEN');
    expect(help.stdout).toContain('so NEW_FILE must then be a .pem file');
  });
});
