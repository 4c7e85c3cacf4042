/**
 * Private, throw-away `redis-server` processes for tests: single servers and small Redis Clusters,
 * on free loopback ports, without persistence unless asked, in temporary directories.
 *
 * The shared Redis on 127.0.0.1:6379 is never touched here. Every process this module starts is
 * tracked: {@link stopAllRedisServers} (call it in `afterAll`) kills them and removes their
 * directories, and a process `exit` hook SIGKILLs whatever is left if a suite dies before that.
 *
 * Readiness and cluster checks speak RESP over a raw socket, so that no client library's
 * reconnection logic or error events get in the way of the tests' own clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = '127.0.0.1';
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
/** Longest wait for a server to answer PING, or for a cluster to be `ok`. */
const READY_TIMEOUT_MS = 10_000;
/** Longest wait for a SIGTERMed server to exit before it is SIGKILLed. */
const STOP_TIMEOUT_MS = 5_000;
/** How many fresh ports to try when the one picked was taken in the meantime. */
const PORT_ATTEMPTS = 5;
/**
 * util-linux `setpriv --pdeathsig KILL` execs redis-server (same pid) with a parent-death signal,
 * so that a server cannot outlive a test process that is killed outright (no `exit` hook runs
 * then). Where it is missing, the `exit` hook and {@link stopAllRedisServers} still apply.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes']` (they come last and win). */
  args?: string[];
  /** Run as a cluster node (`--cluster-enabled yes`, its own bus port and nodes file). */
  cluster?: boolean;
}

/** One `redis-server` process on a fixed loopback port, which can be stopped and started again. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** The cluster bus port (cluster nodes only). */
  readonly busPort: number | undefined;
  /** Its `--dir`, a temporary directory removed by {@link RedisServer.destroy}. */
  readonly dir: string;
  /** `host:port`, as `redis-cli --cluster` and `CLUSTER NODES` name it. */
  readonly address: string;
  /** The process id while it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts it again on the same port (and with the same directory); resolves once PING answers. */
  start(): Promise<void>;
  /** Sends `signal` (default SIGTERM, SIGKILL after a while) and resolves once the process exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its directory. Idempotent. */
  destroy(): Promise<void>;
  /** One command over a fresh connection; resolves with the reply as text, rejects on `-ERR…`. */
  command(...args: (string | number)[]): Promise<string>;
  /** The server's recent output, for error messages. */
  log(): string;
}

/** A Redis Cluster of masters without replicas, as made by {@link startCluster}. */
export interface RedisClusterHandle {
  readonly nodes: readonly RedisServer[];
  /** Seeds for ioredis' `new Cluster(...)`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** The node serving `slot`, from `CLUSTER NODES` as read at creation. */
  nodeForSlot(slot: number): RedisServer;
  /** The node serving `key`. */
  nodeForKey(key: string): RedisServer;
  /** Resolves once every running node reports `cluster_state:ok`. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their directories. Idempotent. */
  destroy(): Promise<void>;
}

/** Every server made here and not yet destroyed, running or stopped. */
const servers = new Set<ServerImpl>();
let exitHookInstalled = false;

/** Last resort when a suite dies without its `afterAll`: no redis-server outlives the test process. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of servers) server.killNow();
  });
}

/** A port that was free a moment ago (the caller retries if someone took it since). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** `count` distinct free ports (a cluster node needs a client port and a bus port). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

class ServerImpl implements RedisServer {
  readonly host = HOST;
  readonly address: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private output: string[] = [];
  private destroyed = false;

  constructor(
    readonly port: number,
    readonly busPort: number | undefined,
    readonly dir: string,
    private readonly args: string[],
  ) {
    this.address = `${HOST}:${port}`;
    servers.add(this);
    installExitHook();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  log(): string {
    return this.output.join('').slice(-4000);
  }

  async start(): Promise<void> {
    if (this.destroyed) throw new Error(`redis-server ${this.address} was destroyed`);
    if (this.child) return;
    const [command, args] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', REDIS_SERVER, ...this.args]]
      : [REDIS_SERVER, this.args];
    const child = spawn(command, args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let exitCode: number | string | null | undefined;
    // 'close' comes once its output is read to the end (after 'exit'): wait for it before quoting the log.
    const outputRead = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        exitCode = code ?? signal;
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (error) => {
        keep(Buffer.from(`spawn error: ${error.message}\n`));
        done(null, null);
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.child !== child) {
        await Promise.race([outputRead, sleep(1000)]);
        throw new RedisStartError(
          `redis-server ${this.address} exited (${exitCode}) before answering PING`,
          this.log(),
        );
      }
      try {
        if ((await this.command('PING')) === 'PONG') return;
      } catch {
        // Not listening yet, or still loading.
      }
      if (Date.now() > deadline) {
        await this.stop('SIGKILL');
        throw new RedisStartError(
          `redis-server ${this.address} did not answer PING in time`,
          this.log(),
        );
      }
      await sleep(5);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited!;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.stop();
    } finally {
      this.destroyed = true;
      servers.delete(this);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Synchronous, for the exit hook. */
  killNow(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  command(...args: (string | number)[]): Promise<string> {
    return rawCommand(this.port, args.map(String));
  }
}

/** Thrown when a server does not come up; `log` holds its output. */
export class RedisStartError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(`${message}\n--- redis-server output ---\n${log}`);
    this.name = 'RedisStartError';
  }
}

function serverArgs(
  port: number,
  dir: string,
  busPort: number | undefined,
  extra: string[],
): string[] {
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    '',
    '--loglevel',
    'warning',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ];
  if (busPort !== undefined) {
    args.push(
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-port',
      String(busPort),
    );
  }
  return [...args, ...extra];
}

/**
 * Starts a private `redis-server` on a free loopback port, with no persistence (`--save ""
 * --appendonly no`) and its own temporary `--dir`, and resolves once it answers PING.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const [port, busPort] = await freePorts(options.cluster ? 2 : 1);
    const dir = mkdtempSync(join(tmpdir(), 'nest-dpop-redis-'));
    const server = new ServerImpl(
      port!,
      busPort,
      dir,
      serverArgs(port!, dir, busPort, options.args ?? []),
    );
    try {
      await server.start();
      return server;
    } catch (error) {
      await server.destroy();
      lastError = error;
      // Someone took the port between the probe and the bind: try other ports.
      if (!(error instanceof RedisStartError) || !/already in use|bind/i.test(error.log))
        throw error;
    }
  }
  throw lastError;
}

/** Stops every server this module started (in this test file) and removes their directories. */
export async function stopAllRedisServers(): Promise<void> {
  const errors: unknown[] = [];
  await Promise.all(
    [...servers].map((server) => server.destroy().catch((error: unknown) => errors.push(error))),
  );
  if (errors.length > 0) throw new AggregateError(errors, 'could not stop every redis-server');
}

/**
 * Starts `size` cluster nodes, joins them with `redis-cli --cluster create … --cluster-replicas 0`
 * and resolves once every node says `cluster_state:ok`.
 */
export async function startCluster(
  size = 3,
  options: { args?: string[] } = {},
): Promise<RedisClusterHandle> {
  const nodes: RedisServer[] = [];
  try {
    const started = await Promise.allSettled(
      Array.from({ length: size }, () => startRedisServer({ cluster: true, args: options.args })),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const create = await run(REDIS_CLI, [
      '--cluster',
      'create',
      ...nodes.map((n) => n.address),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    if (create.code !== 0)
      throw new Error(`redis-cli --cluster create failed (${create.code}):\n${create.output}`);
    const handle = new ClusterImpl(nodes);
    await handle.waitUntilOk();
    await handle.readSlots();
    return handle;
  } catch (error) {
    await Promise.all(nodes.map((n) => n.destroy()));
    throw error;
  }
}

class ClusterImpl implements RedisClusterHandle {
  readonly startupNodes: { host: string; port: number }[];
  private readonly owners = Array.from<RedisServer | undefined>({ length: 16384 });

  constructor(readonly nodes: RedisServer[]) {
    this.startupNodes = nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  async readSlots(): Promise<void> {
    const byAddress = new Map(this.nodes.map((n) => [n.address, n]));
    const text = await this.nodes[0]!.command('CLUSTER', 'NODES');
    for (const line of text.split('\n')) {
      const fields = line.trim().split(' ');
      if (fields.length < 8) continue;
      const node = byAddress.get(fields[1]!.split('@')[0]!);
      if (node === undefined) throw new Error(`unknown node in CLUSTER NODES: ${line}`);
      for (const range of fields.slice(8)) {
        if (range.startsWith('[')) continue; // a slot being migrated: none here
        const [from, to = from] = range.split('-').map(Number) as [number, number?];
        for (let slot = from; slot <= to; slot++) this.owners[slot] = node;
      }
    }
    const missing = this.owners.findIndex((owner) => owner === undefined);
    if (missing !== -1 || this.owners.length !== 16384)
      throw new Error(`slot ${missing} has no node:\n${text}`);
  }

  nodeForSlot(slot: number): RedisServer {
    const node = this.owners[slot];
    if (node === undefined) throw new RangeError(`no node for slot ${slot}`);
    return node;
  }

  nodeForKey(key: string): RedisServer {
    return this.nodeForSlot(keySlot(key));
  }

  async waitUntilOk(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const states = await Promise.all(
        this.nodes
          .filter((n) => n.running)
          .map((n) =>
            n.command('CLUSTER', 'INFO').then(
              (info) => /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown',
              (error: Error) => `error ${error.message}`,
            ),
          ),
      );
      if (states.length > 0 && states.every((s) => s === 'ok')) return;
      last = states.join(', ');
      if (Date.now() > deadline) throw new Error(`cluster not ok in ${timeoutMs} ms: ${last}`);
      await sleep(20);
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** The Redis Cluster hash slot of a key (CRC16/XMODEM of the key or its `{hash tag}`, mod 16384). */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Runs a command to completion; resolves with its exit code and combined output. */
function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * Sends one command over a fresh loopback connection and resolves with the reply as text: a
 * simple string, an integer or a bulk string as is, an array as its elements joined by newlines.
 * An error reply rejects.
 */
export function rawCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let buffer = Buffer.alloc(0);
    const finish = (error: Error | undefined, value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new Error(`no reply from ${HOST}:${port} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`connection to ${HOST}:${port} closed`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      let reply: Parsed | undefined;
      try {
        reply = parseReply(buffer, 0);
      } catch (error) {
        return finish(error as Error);
      }
      if (reply === undefined) return;
      if (reply.error) finish(new Error(reply.value));
      else finish(undefined, reply.value);
    });
    let request = `*${args.length}\r\n`;
    for (const arg of args) request += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    socket.write(request);
  });
}

interface Parsed {
  value: string;
  error: boolean;
  /** Offset just past the reply. */
  end: number;
}

/** One RESP2 reply at `offset`, or `undefined` when more bytes are needed. */
function parseReply(buffer: Buffer, offset: number): Parsed | undefined {
  const eol = buffer.indexOf('\r\n', offset);
  if (eol === -1) return undefined;
  const head = buffer.subarray(offset + 1, eol).toString();
  switch (String.fromCharCode(buffer[offset]!)) {
    case '+':
    case ':':
      return { value: head, error: false, end: eol + 2 };
    case '-':
      return { value: head, error: true, end: eol + 2 };
    case '$': {
      const length = Number(head);
      if (length < 0) return { value: '', error: false, end: eol + 2 };
      if (buffer.length < eol + 2 + length + 2) return undefined;
      return {
        value: buffer.subarray(eol + 2, eol + 2 + length).toString(),
        error: false,
        end: eol + 4 + length,
      };
    }
    case '*': {
      const values: string[] = [];
      let end = eol + 2;
      for (let i = 0; i < Number(head); i++) {
        const element = parseReply(buffer, end);
        if (element === undefined) return undefined;
        values.push(element.value);
        end = element.end;
      }
      return { value: values.join('\n'), error: false, end };
    }
    default:
      throw new Error(`unexpected reply: ${buffer.subarray(offset, offset + 80).toString()}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts a cluster node and makes it a replica of `master` (`CLUSTER MEET`, `CLUSTER
 * REPLICATE`); resolves once its replication link is up. Stopped by
 * {@link stopAllRedisServers} like every other server.
 */
export async function startReplica(
  master: RedisServer,
  options: { args?: string[] } = {},
): Promise<RedisServer> {
  const replica = await startRedisServer({ cluster: true, args: options.args });
  await replica.command('CLUSTER', 'MEET', master.host, master.port, master.busPort!);
  const masterId = (await master.command('CLUSTER', 'MYID')).trim();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const replicated = await replica.command('CLUSTER', 'REPLICATE', masterId).then(
      () => true,
      () => false, // the replica does not know the master yet
    );
    if (replicated) break;
    if (Date.now() > deadline) throw new Error(`${replica.address} never knew ${master.address}`);
    await sleep(50);
  }
  for (;;) {
    if (/master_link_status:up/.test(await replica.command('INFO', 'replication'))) return replica;
    if (Date.now() > deadline) throw new Error(`${replica.address} never synced`);
    await sleep(50);
  }
}
