import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

/**
 * Finding 8 of the audit: start-up that fails closed and says why in one line. The built app
 * (`node dist/src/main.js`, built once here) is spawned with a bad environment; its exit code and
 * everything it printed are checked.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE24 = `${ROOT}scripts/node24.sh`;

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/**
 * Spawns the app and collects its output until it exits, or until `until` appears (then stops
 * it: for settings that start with a warning).
 */
function start(env: Record<string, string>, timeoutMs = 15_000, until?: RegExp): Promise<Run> {
  const began = Date.now();
  return new Promise((resolve) => {
    const child = spawn(NODE24, ['node', 'dist/src/main.js'], {
      cwd: ROOT,
      // Only what the test sets (and what node24.sh needs): no AGENT_KEYS or REDIS_URL leaks in.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (until?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - began });
    });
  });
}

const lines = (output: string): string[] => output.split('\n').filter((line) => line.trim());
const stackLines = (output: string): string[] =>
  lines(output).filter((line) => /^\s+at /.test(line));

beforeAll(() => {
  const built = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
  expect(built.status).toBe(0);
}, 180_000);

describe('start-up refusals (node dist/src/main.js)', () => {
  let blocker: Server;
  let busyPort: number;
  let closedPort: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    busyPort = (blocker.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('NODE_ENV=production without AGENT_KEYS: one line naming AGENT_KEYS, exit 1', async () => {
    const run = await start({ NODE_ENV: 'production', PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/Invalid configuration: AGENT_KEYS must be set/);
    expect(run.output).not.toMatch(/development agent key|listening/);
    expect(lines(run.output).filter((line) => /ERROR/.test(line))).toHaveLength(1);
  });

  it('Redis not reachable: one clear line, quickly, no stack trace, exit 1', async () => {
    const run = await start({
      AGENT_KEYS: 'a-valid-agent-key',
      PORT: '0',
      REDIS_URL: `redis://127.0.0.1:${closedPort}`,
    });
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(5_000);
    expect(run.output).toMatch(/REDIS_URL: Redis is not reachable/);
    expect(stackLines(run.output)).toEqual([]);
    expect(lines(run.output).filter((line) => /ERROR/.test(line))).toHaveLength(1);
    expect(run.output).not.toMatch(/successfully started|listening/);
  });

  it('port in use: one clear line, never "successfully started" first, exit 1', async () => {
    const run = await start({ AGENT_KEYS: 'a-valid-agent-key', PORT: String(busyPort) });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(new RegExp(`PORT: port ${busyPort} is already in use`));
    expect(run.output).not.toMatch(/successfully started|listening on/);
    expect(stackLines(run.output)).toEqual([]);
    expect(lines(run.output).filter((line) => /ERROR/.test(line))).toHaveLength(1);
  });

  describe('issue 15: settings that used to start without a word', () => {
    it.each([
      [
        { NODE_ENV: 'Production' },
        /Invalid configuration: AGENT_KEYS must be set when NODE_ENV=production/,
      ],
      [{ NODE_ENV: 'prod' }, /Invalid configuration: AGENT_KEYS must be set/],
      [
        { AGENT_KEYS: 'a-valid-agent-key', DPOP_ENABLED: 'false', DPOP_REQUIRED: 'true' },
        /Invalid configuration: DPOP_ENABLED=false contradicts DPOP_REQUIRED=true/,
      ],
      [
        { AGENT_KEYS: 'a-valid-agent-key', DPOP_NONCE_SECRET: 'q3Z9-vK2xT7pLm4Rw8Ny1Bc6Hd0Jf5Gs' },
        /Invalid configuration: DPOP_NONCE_SECRET is set but nonces are off/,
      ],
      [
        {
          AGENT_KEYS: 'a-valid-agent-key',
          DPOP_NONCE_REQUIRED: 'true',
          DPOP_NONCE_SECRET: ' '.repeat(40),
        },
        /Invalid configuration: DPOP_NONCE_SECRET is white space only/,
      ],
      [
        { AGENT_KEYS: 'a-valid-agent-key', DPOP_CLOCK_SKEW: '86400' },
        /Invalid configuration: DPOP_CLOCK_SKEW must be a whole number of seconds from 1 to 3600/,
      ],
      [
        { AGENT_KEYS: 'a-valid-agent-key', ARCP_ENDPOINT_ALLOW: '0.0.0.0/0' },
        /Invalid configuration: ARCP_ENDPOINT_ALLOW: "0\.0\.0\.0\/0" covers the cloud metadata address/,
      ],
      [
        { AGENT_KEYS: 'a-valid-agent-key', REDIS_URL: 'redis://' },
        /Invalid configuration: REDIS_URL must name a host/,
      ],
      [
        { AGENT_KEYS: 'a-valid-agent-key', REDIS_URL: 'redis://a:6379', REDIS_HOST: 'b' },
        /Invalid configuration: REDIS_URL and REDIS_HOST are both set/,
      ],
    ])('%j: one line naming the variable, exit 1', async (env, message) => {
      const run = await start({ PORT: '0', ...env });
      expect(run.code).toBe(1);
      expect(run.output).toMatch(message);
      expect(run.output).not.toMatch(/development agent key|listening/);
      expect(stackLines(run.output)).toEqual([]);
      expect(lines(run.output).filter((line) => /ERROR/.test(line))).toHaveLength(1);
    });

    it('a plain start warns of no @DPoPBound() route reading unverified tokens', async () => {
      const run = await start(
        { AGENT_KEYS: 'a-valid-agent-key', PORT: '0' },
        15_000,
        /ARCP listening/,
      );
      expect(run.output).toMatch(/ARCP listening/);
      // The DPoP module verifies the app's tokens (its accessToken option): nothing to warn of.
      expect(run.output).not.toMatch(/DPoPBound|does not verify|unverified/);
    });

    it('DPOP_PROOF_TTL=600 starts, with one warning line naming proofTtl', async () => {
      const run = await start(
        { AGENT_KEYS: 'a-valid-agent-key', PORT: '0', DPOP_PROOF_TTL: '600' },
        15_000,
        /ARCP listening/,
      );
      expect(run.output).toMatch(/ARCP listening/);
      const warnings = lines(run.output).filter((line) => /RFC 9449 §11\.1/.test(line));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/WARN.*DPoP option proofTtl is 600 s/);
    });
  });
});

describe('HOST: where the app listens (127.0.0.1 unless told)', () => {
  /** Whether a TCP connection to host:port is accepted. */
  const accepts = (host: string, port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  /** This machine's first non-loopback IPv4 address, if it has one. */
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

  /** Starts the app, and while it runs checks who can connect; returns the listening line. */
  async function listening(
    env: Record<string, string>,
    probe: (port: number) => Promise<void>,
  ): Promise<string> {
    let line = '';
    let probed: Promise<void> | undefined;
    const run = await new Promise<Run>((resolve) => {
      const began = Date.now();
      const child = spawn(NODE24, ['node', 'dist/src/main.js'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (chunk: Buffer): void => {
        output += chunk.toString();
        const found = /ARCP listening on (\S+)( \(every interface\))?/.exec(output);
        if (found !== null && probed === undefined) {
          line = found[0];
          const port = Number(new URL(found[1]!).port);
          probed = probe(port).finally(() => child.kill('SIGTERM'));
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output, ms: Date.now() - began });
      });
    });
    expect(probed).toBeDefined();
    await probed;
    expect(run.output).not.toMatch(/localhost/);
    return line;
  }

  it('binds 127.0.0.1 by default, and says so (not localhost, not every interface)', async () => {
    const line = await listening({ AGENT_KEYS: 'a-valid-agent-key', PORT: '0' }, async (port) => {
      expect(await accepts('127.0.0.1', port)).toBe(true);
      // Another address of this machine is refused: the app is not on the network.
      if (external !== undefined) expect(await accepts(external, port)).toBe(false);
    });
    expect(line).toMatch(/^ARCP listening on http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('HOST=0.0.0.0 binds every interface, and the log says so', async () => {
    const env = { AGENT_KEYS: 'a-valid-agent-key', PORT: '0', HOST: '0.0.0.0' };
    const line = await listening(env, async (port) => {
      expect(await accepts('127.0.0.1', port)).toBe(true);
      if (external !== undefined) expect(await accepts(external, port)).toBe(true);
    });
    expect(line).toMatch(/^ARCP listening on http:\/\/0\.0\.0\.0:\d+ \(every interface\)$/);
  });

  it('HOST=::1 logs the IPv6 address in brackets', async () => {
    const env = { AGENT_KEYS: 'a-valid-agent-key', PORT: '0', HOST: '::1' };
    const line = await listening(env, async (port) => {
      expect(await accepts('::1', port)).toBe(true);
      expect(await accepts('127.0.0.1', port)).toBe(false);
    });
    expect(line).toMatch(/^ARCP listening on http:\/\/\[::1\]:\d+$/);
  });

  it.each([
    [
      { HOST: 'http://0.0.0.0' },
      /Invalid configuration: HOST must be an IP address or a host name/,
    ],
    // TEST-NET-2 (RFC 5737): an address no machine here has.
    [
      { HOST: '198.51.100.1' },
      /Cannot start: HOST: 198\.51\.100\.1 is not an address of this machine/,
    ],
  ])('%j: one line naming HOST, exit 1', async (env, message) => {
    const run = await start({ AGENT_KEYS: 'a-valid-agent-key', PORT: '0', ...env });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(message);
    expect(run.output).not.toMatch(/listening on/);
    expect(stackLines(run.output)).toEqual([]);
    expect(lines(run.output).filter((line) => /ERROR/.test(line))).toHaveLength(1);
  });
});
