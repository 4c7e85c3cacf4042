import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
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

function start(env: Record<string, string>, timeoutMs = 15_000): Promise<Run> {
  const began = Date.now();
  return new Promise((resolve) => {
    const child = spawn(NODE24, ['node', 'dist/src/main.js'], {
      cwd: ROOT,
      // Only what the test sets (and what node24.sh needs): no AGENT_KEYS or REDIS_URL leaks in.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
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
});
