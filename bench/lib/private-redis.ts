/**
 * Throw-away `redis-server` processes for the benchmarks that must measure a Redis of their own
 * (its key count, its memory, its CPU): one server, or a Cluster of masters. Loopback only, no
 * persistence, temporary directories removed on stop. The shared Redis is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface PrivateRedis {
  readonly port: number;
  readonly pid: number;
  /** CPU seconds (user + system) the server process has used, from /proc. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts one server (a Cluster node with `cluster`); resolves once it answers PING. */
export async function startPrivateRedis(cluster = false): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nest-dpop-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', dir, '--loglevel', 'warning', '--daemonize', 'no');
  if (cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'));
  }
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      probe.disconnect();
    }
  }
  const ticks = 100; // USER_HZ on Linux
  return {
    port,
    pid: child.pid!,
    cpuSeconds: () => {
      const stat = spawnSync('cat', [`/proc/${child.pid}/stat`], { encoding: 'utf8' }).stdout;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    },
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `size` masters joined by `redis-cli --cluster create`, once every node says `ok`. */
export async function startPrivateCluster(size = 3): Promise<PrivateRedis[]> {
  const nodes = await Promise.all(Array.from({ length: size }, () => startPrivateRedis(true)));
  const create = spawnSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { encoding: 'utf8' },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const states = nodes.map((n) =>
      spawnSync('redis-cli', ['-p', String(n.port), 'CLUSTER', 'INFO'], { encoding: 'utf8' }),
    );
    if (states.every((s) => /cluster_state:ok/.test(s.stdout))) return nodes;
    if (Date.now() > deadline) throw new Error('the bench cluster did not become ok');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
