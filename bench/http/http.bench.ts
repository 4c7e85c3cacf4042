import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import type { DPoPAlgorithm } from 'nest-dpop';
import { makeBenchKey, mintProofs, type BenchKey } from '../lib/proof-factory.js';
import { median } from '../lib/stats.js';
import {
  BENCH_ALG_HEADER,
  BENCH_KEYS_ENV,
  BENCH_PATHS,
  REDIS_KEY_PREFIX,
  type PublicJwks,
  type ServerCommand,
  type ServerMessage,
  type StoreKind,
} from './bench-http.constants.js';
import { benchRedis } from '../lib/redis-url.js';

/** One configuration under load: medians over the measured rounds. */
export interface LoadResult {
  /** Completed requests per second (client side). */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of the server process (all its threads) per request, in µs. */
  readonly serverCpuUs: number;
  /** CPU time of redis-server per request, in µs (Redis runs only). */
  readonly redisCpuUs?: number;
}

/**
 * The configurations measured for one proof algorithm. The memory store's app serves `open`,
 * `floor` and `memory`; the Redis store's app (a process of its own) serves `redisOpen` and
 * `redis`, so each guarded configuration is compared with the no-guard route of its own process.
 */
export const SCENARIOS = ['open', 'floor', 'memory', 'redisOpen', 'redis'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/**
 * Comparisons made round by round (each configuration against the no-guard run of the same
 * round, minutes apart at most), then the median over rounds: slow drifts of a shared machine
 * cancel out, which they do not between medians taken separately.
 */
export interface PairedResult {
  /** Server CPU µs the floor handler adds to a request over the no-guard route. */
  readonly floorAddedUs: number;
  /** Server CPU µs the guard with the memory store adds to a request. */
  readonly memoryAddedUs: number;
  /** Same with the Redis store, over its own app's no-guard route (Redis's own CPU aside). */
  readonly redisAddedUs: number;
  /** `memoryAddedUs ÷ floorAddedUs`, round by round. */
  readonly guardVsFloor: number;
  /** Requests per second with Redis ÷ with the memory store, round by round. */
  readonly redisVsMemoryRps: number;
}

/** One proof algorithm, every configuration side by side. */
export type HttpAlgorithmResult = {
  readonly alg: DPoPAlgorithm;
  readonly paired: PairedResult;
} & Record<Scenario, LoadResult>;

/** Settings of the HTTP benchmark. */
export interface HttpBenchOptions {
  readonly algorithms: readonly DPoPAlgorithm[];
  readonly rounds: number;
  /** Requests per timed run. */
  readonly requests: number;
  readonly connections: number;
  readonly log: (line: string) => void;
}

const SERVER = fileURLToPath(new URL('./bench-server.js', import.meta.url));

/** A bench server in a child process. */
class BenchServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(kind: StoreKind, jwks: PublicJwks): Promise<BenchServer> {
    const child = fork(SERVER, [kind], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [BENCH_KEYS_ENV]: JSON.stringify(jwks) },
    });
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`bench server (${kind}) exited with code ${String(code)}`);
      }),
    ])) as [ServerMessage];
    if (message.type !== 'ready') {
      throw new Error(`bench server (${kind}): unexpected ${message.type}`);
    }
    return new BenchServer(child, message.port);
  }

  /** The server process's CPU time so far, in µs. */
  async cpuUs(): Promise<number> {
    const reply = once(this.child, 'message') as Promise<[ServerMessage]>;
    this.child.send('cpu' satisfies ServerCommand);
    const [message] = await reply;
    if (message.type !== 'cpu') throw new Error(`bench server: unexpected ${message.type}`);
    return message.usage.user + message.usage.system;
  }

  async stop(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.send('stop' satisfies ServerCommand);
    await exited;
  }
}

/** redis-server's CPU time so far (all its threads), in µs. */
async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1]);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/** Client-side view of one run. */
type ClientResult = Pick<LoadResult, 'rps' | 'p50Ms' | 'p99Ms'>;

/**
 * One timed run of `amount` requests on fixed connections. Each request takes the next proof of
 * `proofs` (minted beforehand, so the load generator only copies strings); the run fails unless
 * every response is a 2xx, so a replayed or rejected proof cannot pass for a fast one.
 *
 * Latency and throughput come from autocannon's per-response event, not its summary: its
 * histogram keeps whole milliseconds and its duration ends on a sampling tick.
 */
async function load(
  url: string,
  alg: DPoPAlgorithm,
  proofs: readonly string[],
  amount: number,
  connections: number,
): Promise<ClientResult> {
  let next = 0;
  let done = 0;
  const latencies = new Float64Array(amount);
  const finishedAt = new Float64Array(amount);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        amount,
        // Stop soon after the last response (the run ends on a sampling tick).
        sampleInt: 100,
        headers: { [BENCH_ALG_HEADER]: alg },
        requests: [
          {
            method: 'GET',
            setupRequest(request) {
              request.headers = { ...request.headers, dpop: proofs[next++ % proofs.length]! };
              return request;
            },
          },
        ],
      },
      (error, summary) => (error ? reject(error as Error) : resolve(summary)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (done < amount) {
        latencies[done] = responseTime;
        finishedAt[done] = performance.now();
      }
      done++;
    });
  });
  if (result.non2xx !== 0 || result.errors !== 0 || done !== amount) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${done}/${amount} done ` +
        `(status codes ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  // Throughput once every connection has its first answer, to the last answer.
  const first = Math.min(connections, amount - 2);
  const rps = (amount - 1 - first) / ((finishedAt[amount - 1]! - finishedAt[first]!) / 1000);
  latencies.sort();
  const percentile = (p: number) =>
    latencies[Math.min(amount - 1, Math.floor((p / 100) * amount))]!;
  return { rps, p50Ms: percentile(50), p99Ms: percentile(99) };
}

/** Deletes every key the benchmark wrote to Redis. */
export async function deleteBenchKeys(): Promise<number> {
  const redis = benchRedis({ lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const pattern = `${REDIS_KEY_PREFIX}*`;
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * End-to-end throughput, latency and server CPU time of the bench app, per algorithm and
 * configuration (see {@link SCENARIOS}). Runs are interleaved in rounds (the order rotates each
 * round); round 0 warms the servers up and is not counted. Every guarded request carries a proof
 * of its own, minted before its run.
 */
export async function benchHttp(options: HttpBenchOptions): Promise<HttpAlgorithmResult[]> {
  const { rounds, requests, connections, log } = options;
  const keys = new Map<DPoPAlgorithm, BenchKey>(
    options.algorithms.map((alg) => [alg, makeBenchKey(alg)]),
  );
  const jwks: PublicJwks = Object.fromEntries([...keys].map(([alg, key]) => [alg, key.jwk]));
  const redis = benchRedis({ lazyConnect: true });
  await redis.connect();
  const memoryServer = await BenchServer.start('memory', jwks);
  const redisServer = await BenchServer.start('redis', jwks);
  try {
    const runs = options.algorithms.flatMap((alg) =>
      SCENARIOS.map((scenario) => ({ alg, scenario })),
    );
    // Measured rounds only: samples.get(`${alg}/${scenario}`)[round - 1].
    const samples = new Map<string, LoadResult[]>();
    for (let round = 0; round <= rounds; round++) {
      const amount = round === 0 ? Math.ceil(requests / 4) : requests;
      for (let i = 0; i < runs.length; i++) {
        const { alg, scenario } = runs[(round + i) % runs.length]!;
        const onRedis = scenario === 'redis' || scenario === 'redisOpen';
        const server = onRedis ? redisServer : memoryServer;
        const guarded = scenario === 'memory' || scenario === 'redis';
        const path = BENCH_PATHS[guarded ? 'guarded' : scenario === 'floor' ? 'floor' : 'open'];
        const url = `http://127.0.0.1:${server.port}${path}`;
        // One proof per request for the guard, plus one per connection that autocannon builds up
        // front. The other routes record no jti: a few hundred proofs, reused, will do.
        const count = guarded ? amount + 2 * connections : 500;
        const proofs = mintProofs(keys.get(alg)!, { htm: 'GET', htu: url }, count);

        const serverBefore = await server.cpuUs();
        const redisBefore = scenario === 'redis' ? await redisCpuUs(redis) : 0;
        const client = await load(url, alg, proofs, amount, connections);
        const redisAfter = scenario === 'redis' ? await redisCpuUs(redis) : 0;
        const serverCpuUs = ((await server.cpuUs()) - serverBefore) / amount;
        const run: LoadResult = {
          ...client,
          serverCpuUs,
          ...(scenario === 'redis' && { redisCpuUs: (redisAfter - redisBefore) / amount }),
        };
        if (round > 0) {
          const id = `${alg}/${scenario}`;
          samples.set(id, [...(samples.get(id) ?? []), run]);
        }
        log(
          `  http round ${round}${round === 0 ? ' (warm-up)' : ''} ${alg} ${scenario}: ` +
            `${Math.round(run.rps)} req/s, p50 ${run.p50Ms.toFixed(2)} ms, ` +
            `p99 ${run.p99Ms.toFixed(2)} ms, server ${run.serverCpuUs.toFixed(1)} µs CPU/req`,
        );
      }
    }
    const summary = (alg: DPoPAlgorithm, scenario: Scenario): LoadResult => {
      const list = samples.get(`${alg}/${scenario}`)!;
      const of = (pick: (r: LoadResult) => number) => median(list.map(pick));
      return {
        rps: of((r) => r.rps),
        p50Ms: of((r) => r.p50Ms),
        p99Ms: of((r) => r.p99Ms),
        serverCpuUs: of((r) => r.serverCpuUs),
        ...(scenario === 'redis' && { redisCpuUs: of((r) => r.redisCpuUs!) }),
      };
    };
    const paired = (alg: DPoPAlgorithm): PairedResult => {
      const [open, floor, memory, redisOpen, redis] = SCENARIOS.map((scenario) =>
        samples.get(`${alg}/${scenario}`)!,
      ) as [LoadResult[], LoadResult[], LoadResult[], LoadResult[], LoadResult[]];
      const perRound = (pick: (round: number) => number) =>
        median(open.map((_, round) => pick(round)));
      const added = (list: LoadResult[], base: LoadResult[], round: number) =>
        list[round]!.serverCpuUs - base[round]!.serverCpuUs;
      return {
        floorAddedUs: perRound((r) => added(floor, open, r)),
        memoryAddedUs: perRound((r) => added(memory, open, r)),
        redisAddedUs: perRound((r) => added(redis, redisOpen, r)),
        guardVsFloor: perRound((r) => added(memory, open, r) / added(floor, open, r)),
        redisVsMemoryRps: perRound((r) => redis[r]!.rps / memory[r]!.rps),
      };
    };
    return options.algorithms.map((alg) => ({
      alg,
      paired: paired(alg),
      open: summary(alg, 'open'),
      floor: summary(alg, 'floor'),
      memory: summary(alg, 'memory'),
      redisOpen: summary(alg, 'redisOpen'),
      redis: summary(alg, 'redis'),
    }));
  } finally {
    await Promise.all([memoryServer.stop(), redisServer.stop()]);
    redis.disconnect();
  }
}
