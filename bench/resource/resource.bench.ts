/**
 * The resource-server benchmark (issue 20 item 6): what verifying the access token in the guard
 * costs, beside the DPoP-only guard and auth0's `auth()` (JWT + DPoP) on the same tokens and
 * proofs, at several connection counts, on Express and Fastify, in one run.
 *
 * Two views of each request, both measured in the same batches:
 * - **over HTTP**: server process CPU per request (all threads) added over the same process's
 *   unguarded route, which receives the very same headers (so reading them is not counted as
 *   the guard's); the signature floors are routes whose handler runs one `crypto.verify`;
 * - **in the guard**: the median time of a call of `canActivate`, beside that of the floor
 *   handlers' `crypto.verify` (the in-server cost of one signature check, same key, same
 *   process): the guard's own cost with the framework's taken out exactly.
 *
 * Contenders per round: `dpop-only` (DPoPGuard without the `accessToken` option), `reused` (with
 * it, one token for every request: the claims cache), `first-seen` (a new token on every
 * request), `auth0` (`auth()`, Express middleware; on Fastify through a small adapter). Every
 * batch of a round runs back to back in an order that rotates from round to round, so drift of
 * the shared machine falls on all of them alike; ratios are taken round by round and reported
 * as median and range.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { makeBenchKey, mintProofs, type BenchKey } from '../lib/proof-factory.js';
import { median } from '../lib/stats.js';
import {
  RESOURCE_BENCH_ENV,
  RESOURCE_PATHS,
  type InProcessTimes,
  type ResourcePlatform,
  type ResourceServerCommand,
  type ResourceServerKind,
  type ResourceServerMessage,
} from './resource-bench.constants.js';
import { BenchIssuer } from './resource-issuer.js';

const SERVER = fileURLToPath(new URL('./resource-server.js', import.meta.url));

/** A ratio (or µs) over the rounds: median, lowest, highest. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** One platform and connection count. µs are medians over rounds. */
export interface ResourceRow {
  readonly platform: ResourcePlatform;
  readonly connections: number;
  /** Over HTTP: server CPU µs per request added over the unguarded route. */
  readonly http: {
    readonly dpopOnlyUs: number;
    readonly reusedUs: number;
    readonly firstSeenUs: number;
    readonly floorProofUs: number;
    readonly floorTokenUs: number;
    readonly auth0Us: number;
    readonly reusedVsDpopOnly: Spread;
    /** `(first-seen − reused) ÷ token floor`. */
    readonly firstSeenExtraSignatures: Spread;
    /** `reused ÷ proof floor`. */
    readonly reusedVsSignature: Spread;
    /** `auth0 ÷ reused`. */
    readonly auth0VsReused: Spread;
  };
  /** In the guard: median µs of a call of `canActivate` and of the floors' `crypto.verify`. */
  readonly guard: {
    readonly dpopOnlyUs: number;
    readonly reusedUs: number;
    readonly firstSeenUs: number;
    readonly proofSignatureUs: number;
    readonly tokenSignatureUs: number;
    readonly reusedVsDpopOnly: Spread;
    readonly firstSeenExtraSignatures: Spread;
    readonly reusedVsSignature: Spread;
    /** `first-seen ÷ (proof + token signature)`: the two checks a first-seen token needs. */
    readonly firstSeenVsSignatures: Spread;
  };
}

export interface ResourceBenchResult {
  readonly rows: readonly ResourceRow[];
  readonly rounds: number;
  readonly requests: number;
}

export interface ResourceBenchOptions {
  readonly rounds: number;
  readonly requests: number;
  readonly connections: readonly number[];
  readonly platforms: readonly ResourcePlatform[];
  readonly log: (line: string) => void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** CPU readings of a server process. */
interface Reading {
  readonly processUs: number;
  readonly inProcess: InProcessTimes;
}

/** A server process of the benchmark. */
class ResourceServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly base: string,
  ) {}

  static async start(
    kind: ResourceServerKind,
    platform: ResourcePlatform,
    issuer: BenchIssuer,
  ): Promise<ResourceServer> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = fork(SERVER, [kind, platform], {
      env: {
        ...process.env,
        [RESOURCE_BENCH_ENV.issuer]: issuer.issuer,
        [RESOURCE_BENCH_ENV.jwksUri]: issuer.jwksUri,
        [RESOURCE_BENCH_ENV.audience]: `${base}/`,
        [RESOURCE_BENCH_ENV.port]: String(port),
        [RESOURCE_BENCH_ENV.tokenJwk]: JSON.stringify(issuer.publicJwk),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [message] = (await once(child, 'message')) as [ResourceServerMessage];
    if (message.type !== 'ready') throw new Error(`${kind} server did not start`);
    return new ResourceServer(child, base);
  }

  async read(): Promise<Reading> {
    this.child.send({ type: 'cpu' } satisfies ResourceServerCommand);
    const [message] = (await once(this.child, 'message')) as [ResourceServerMessage];
    if (message.type !== 'cpu') throw new Error('unexpected answer');
    return {
      // User time: the routes differ in user-space work only (system time is the kernel's
      // loopback TCP, alike for every route, and charged to whichever process a packet's
      // interrupt lands on: on one machine, noise of the size of the differences measured).
      processUs: message.usage.user,
      inProcess: message.inProcess,
    };
  }

  async stop(): Promise<void> {
    this.child.send({ type: 'stop' } satisfies ResourceServerCommand);
    await once(this.child, 'exit');
  }
}

/** One timed run: `amount` requests, each with the next headers; fails unless all are 2xx. */
async function load(
  url: string,
  headersOf: (index: number) => Record<string, string>,
  amount: number,
  connections: number,
): Promise<void> {
  let next = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        pipelining: 1,
        amount,
        sampleInt: 100,
        requests: [
          {
            method: 'GET',
            setupRequest(request) {
              request.headers = { ...request.headers, ...headersOf(next++) };
              return request;
            },
          },
        ],
      },
      (error, summary) => (error ? reject(error as Error) : resolve(summary)),
    );
  });
  if (result.non2xx !== 0 || result.errors !== 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors ` +
        `(status codes ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
}

/** What one batch cost: process CPU µs per request, and the median µs of each timed call. */
interface Batch {
  readonly processUs: number;
  readonly guardUs: number;
  readonly floorProofUs: number;
  readonly floorTokenUs: number;
}

async function measure(
  server: ResourceServer,
  path: string,
  headersOf: (index: number) => Record<string, string>,
  amount: number,
  connections: number,
): Promise<Batch> {
  const before = await server.read();
  await load(`${server.base}${path}`, headersOf, amount, connections);
  const after = await server.read();
  return { processUs: (after.processUs - before.processUs) / amount, ...after.inProcess };
}

/**
 * Headers of `count` requests: a fresh proof each (with `ath`, `htu` the guarded route), and the
 * tokens they go with. Every route of a server gets the same kind of headers.
 */
function traffic(
  key: BenchKey,
  server: ResourceServer,
  count: number,
  tokenOf: (i: number) => string,
): (index: number) => Record<string, string> {
  const tokens = Array.from({ length: count }, (_, i) => tokenOf(i));
  const proofs = mintProofs(
    key,
    { htm: 'GET', htu: `${server.base}${RESOURCE_PATHS.guarded}` },
    count,
    (i) => tokens[i]!,
  );
  return (i) => ({ authorization: `DPoP ${tokens[i % count]!}`, dpop: proofs[i % count]! });
}

/** The batches of one round, by name. */
type Cell =
  'dOpen' | 'dR' | 'vOpen' | 'vFloorProof' | 'vFloorToken' | 'vR' | 'vFirst' | 'aOpen' | 'aR';

function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export async function benchResource(options: ResourceBenchOptions): Promise<ResourceBenchResult> {
  const { rounds, requests, log } = options;
  const issuer = new BenchIssuer();
  await issuer.start();
  const key = makeBenchKey('ES256');
  const rows: ResourceRow[] = [];
  try {
    for (const platform of options.platforms) {
      const dpopOnly = await ResourceServer.start('dpop-only', platform, issuer);
      const verified = await ResourceServer.start('verified', platform, issuer);
      const auth0 = await ResourceServer.start('auth0', platform, issuer);
      try {
        for (const connections of options.connections) {
          rows.push(
            await benchRow(platform, connections, { dpopOnly, verified, auth0 }, issuer, key, {
              rounds,
              requests,
            }),
          );
          log(`  ${describeRow(rows.at(-1)!)}`);
        }
      } finally {
        await dpopOnly.stop();
        await verified.stop();
        await auth0.stop();
      }
    }
  } finally {
    issuer.stop();
  }
  return { rows, rounds, requests };
}

async function benchRow(
  platform: ResourcePlatform,
  connections: number,
  servers: Record<'dpopOnly' | 'verified' | 'auth0', ResourceServer>,
  issuer: BenchIssuer,
  key: BenchKey,
  { rounds, requests }: { rounds: number; requests: number },
): Promise<ResourceRow> {
  const { dpopOnly, verified, auth0 } = servers;
  const reused = (s: ResourceServer) => {
    const token = issuer.token(key.jkt, `${s.base}/`);
    return () => token;
  };
  const fresh = (s: ResourceServer) => () => issuer.token(key.jkt, `${s.base}/`);
  const cells: readonly [
    Cell,
    ResourceServer,
    string,
    (s: ResourceServer) => (i: number) => string,
  ][] = [
    ['dOpen', dpopOnly, RESOURCE_PATHS.open, reused],
    ['dR', dpopOnly, RESOURCE_PATHS.guarded, reused],
    ['vOpen', verified, RESOURCE_PATHS.open, reused],
    ['vFloorProof', verified, RESOURCE_PATHS.floorProof, reused],
    ['vFloorToken', verified, RESOURCE_PATHS.floorToken, reused],
    ['vR', verified, RESOURCE_PATHS.guarded, reused],
    ['vFirst', verified, RESOURCE_PATHS.guarded, fresh],
    ['aOpen', auth0, RESOURCE_PATHS.open, reused],
    ['aR', auth0, RESOURCE_PATHS.guarded, reused],
  ];
  const perRound: Record<Cell, Batch>[] = [];
  for (let round = 0; round <= rounds; round++) {
    // Round 0 warms up (JIT, the JWK Set fetched once, connections) and is not counted.
    const amount = round === 0 ? Math.ceil(requests / 4) : requests;
    const count = amount + 2 * connections;
    const results = {} as Record<Cell, Batch>;
    for (let i = 0; i < cells.length; i++) {
      const [name, server, path, tokens] = cells[(i + round * 2) % cells.length]!;
      const headers = traffic(key, server, count, tokens(server));
      results[name] = await measure(server, path, headers, amount, connections);
    }
    if (round > 0) perRound.push(results);
  }
  const over = (f: (r: Record<Cell, Batch>) => number) => spread(perRound.map(f));
  const med = (f: (r: Record<Cell, Batch>) => number) => over(f).median;
  const added = (r: Record<Cell, Batch>, cell: Cell, open: Cell) =>
    r[cell].processUs - r[open].processUs;
  const h = {
    dpopOnly: (r: Record<Cell, Batch>) => added(r, 'dR', 'dOpen'),
    reused: (r: Record<Cell, Batch>) => added(r, 'vR', 'vOpen'),
    first: (r: Record<Cell, Batch>) => added(r, 'vFirst', 'vOpen'),
    floorProof: (r: Record<Cell, Batch>) => added(r, 'vFloorProof', 'vOpen'),
    floorToken: (r: Record<Cell, Batch>) => added(r, 'vFloorToken', 'vOpen'),
    auth0: (r: Record<Cell, Batch>) => added(r, 'aR', 'aOpen'),
  };
  const g = {
    dpopOnly: (r: Record<Cell, Batch>) => r.dR.guardUs,
    reused: (r: Record<Cell, Batch>) => r.vR.guardUs,
    first: (r: Record<Cell, Batch>) => r.vFirst.guardUs,
    proof: (r: Record<Cell, Batch>) => r.vFloorProof.floorProofUs,
    token: (r: Record<Cell, Batch>) => r.vFloorToken.floorTokenUs,
  };
  return {
    platform,
    connections,
    http: {
      dpopOnlyUs: med(h.dpopOnly),
      reusedUs: med(h.reused),
      firstSeenUs: med(h.first),
      floorProofUs: med(h.floorProof),
      floorTokenUs: med(h.floorToken),
      auth0Us: med(h.auth0),
      reusedVsDpopOnly: over((r) => h.reused(r) / h.dpopOnly(r)),
      firstSeenExtraSignatures: over((r) => (h.first(r) - h.reused(r)) / h.floorToken(r)),
      reusedVsSignature: over((r) => h.reused(r) / h.floorProof(r)),
      auth0VsReused: over((r) => h.auth0(r) / h.reused(r)),
    },
    guard: {
      dpopOnlyUs: med(g.dpopOnly),
      reusedUs: med(g.reused),
      firstSeenUs: med(g.first),
      proofSignatureUs: med(g.proof),
      tokenSignatureUs: med(g.token),
      reusedVsDpopOnly: over((r) => g.reused(r) / g.dpopOnly(r)),
      firstSeenExtraSignatures: over((r) => (g.first(r) - g.reused(r)) / g.token(r)),
      reusedVsSignature: over((r) => g.reused(r) / g.proof(r)),
      firstSeenVsSignatures: over((r) => g.first(r) / (g.proof(r) + g.token(r))),
    },
  };
}

function describeRow(row: ResourceRow): string {
  const f = (v: number) => v.toFixed(1);
  const s = (v: Spread) => `${v.median.toFixed(2)}x [${v.min.toFixed(2)}–${v.max.toFixed(2)}]`;
  const { http, guard } = row;
  return (
    `${row.platform} ×${row.connections}: in the guard: dpop-only ${f(guard.dpopOnlyUs)} µs, ` +
    `reused ${f(guard.reusedUs)} µs (${s(guard.reusedVsDpopOnly)} dpop-only, ` +
    `${s(guard.reusedVsSignature)} a ${f(guard.proofSignatureUs)} µs signature), first-seen ` +
    `${f(guard.firstSeenUs)} µs (+${s(guard.firstSeenExtraSignatures)} signatures); over HTTP: ` +
    `dpop-only ${f(http.dpopOnlyUs)} µs, reused ${f(http.reusedUs)} µs (${s(http.reusedVsDpopOnly)}), ` +
    `first-seen ${f(http.firstSeenUs)} µs (+${s(http.firstSeenExtraSignatures)} signatures), ` +
    `auth0 ${f(http.auth0Us)} µs (${s(http.auth0VsReused)} ours)`
  );
}

export { renderResourceMarkdown } from './resource-report.js';
