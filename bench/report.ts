import { SCENARIOS, type HttpAlgorithmResult, type Scenario } from './http/http.bench.js';
import type { MachineInfo } from './lib/machine.js';
import { fixed, times, verdict } from './lib/stats.js';
import type { MemoryResult } from './memory/memory.bench.js';
import { NOTES } from './notes.js';
import type { StoreResult } from './stores/store.bench.js';
import type { VerifierResult } from './verifier/verifier.bench.js';
import type { PeerResult } from './peers/peers.bench.js';
import { hookTable, peersMarkdown, peersTable } from './peers/peers.report.js';

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  readonly date: Date;
  readonly machine: MachineInfo;
  readonly totalSeconds: number;
  readonly verifier: readonly VerifierResult[];
  readonly http: readonly HttpAlgorithmResult[];
  readonly httpSettings: {
    readonly rounds: number;
    readonly requests: number;
    readonly connections: number;
  };
  readonly memory: readonly MemoryResult[];
  readonly stores: readonly StoreResult[];
  readonly peers: readonly PeerResult[];
}

/** The issue's targets; each row of the verdict table is one of these for one algorithm. */
const TARGETS = {
  verifierVsFloor: 1.2,
  joseVsVerifier: 1.5,
  guardVsFloor: 1.3,
  redisVsMemory: 0.85,
  bytesPerJti: 200,
} as const;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The hot-loop floor of section 1 (CPU time) for `alg`. */
function floorOf(results: BenchResults, alg: string): number {
  return results.verifier.find((v) => v.alg === alg)?.cpu.floorUs ?? Number.NaN;
}

function verifierTable(results: BenchResults): string {
  return table(
    [
      'alg',
      'floor µs',
      'check() µs',
      'bound token µs',
      'bound, new token µs',
      'verify() + memory store µs',
      'check(), no key cache µs',
      'jose pipeline µs',
      'key import µs',
      'check() ÷ floor',
      'bound token ÷ floor',
      'verify() ÷ floor',
      'jose ÷ check()',
    ],
    results.verifier.map(({ alg, cpu: v }) => [
      alg,
      fixed(v.floorUs),
      fixed(v.checkUs),
      fixed(v.checkBoundUs),
      fixed(v.checkNewTokenUs),
      fixed(v.verifyUs),
      fixed(v.checkNoCacheUs),
      fixed(v.joseUs),
      fixed(v.importUs),
      times(v.checkUs / v.floorUs),
      times(v.checkBoundUs / v.floorUs),
      times(v.verifyUs / v.floorUs),
      times(v.joseUs / v.checkUs),
    ]),
  );
}

function verifierWallTable(results: BenchResults): string {
  return table(
    [
      'alg',
      'floor µs',
      'check() µs',
      'bound token µs',
      'verify() µs',
      'jose pipeline µs',
      'check() ÷ floor',
      'bound token ÷ floor',
      'jose ÷ check()',
    ],
    results.verifier.map(({ alg, wall: v }) => [
      alg,
      fixed(v.floorUs),
      fixed(v.checkUs),
      fixed(v.checkBoundUs),
      fixed(v.verifyUs),
      fixed(v.joseUs),
      times(v.checkUs / v.floorUs),
      times(v.checkBoundUs / v.floorUs),
      times(v.joseUs / v.checkUs),
    ]),
  );
}

const SCENARIO_NAMES: Record<Scenario, string> = {
  open: 'no guard (`@SkipDPoP()`)',
  floor: 'no guard, handler runs the floor',
  memory: 'guard + memory store',
  redisOpen: 'no guard, Redis app',
  redis: 'guard + Redis store',
};

function httpTable(results: BenchResults): string {
  const rows: string[][] = [];
  for (const row of results.http) {
    for (const scenario of SCENARIOS) {
      const load = row[scenario];
      const added = {
        open: Number.NaN,
        floor: row.paired.floorAddedUs,
        memory: row.paired.memoryAddedUs,
        redisOpen: Number.NaN,
        redis: row.paired.redisAddedUs,
      }[scenario];
      rows.push([
        row.alg,
        SCENARIO_NAMES[scenario],
        String(Math.round(load.rps)),
        fixed(load.p50Ms, 2),
        fixed(load.p99Ms, 2),
        fixed(load.serverCpuUs),
        Number.isNaN(added) ? '–' : fixed(added),
        load.redisCpuUs === undefined ? '–' : fixed(load.redisCpuUs),
        times(load.rps / (scenario === 'redis' ? row.redisOpen : row.open).rps),
      ]);
    }
  }
  return table(
    [
      'alg',
      'configuration',
      'req/s',
      'p50 ms',
      'p99 ms',
      'server CPU µs/req',
      'added µs/req',
      'Redis CPU µs/req',
      'req/s ÷ its no guard',
    ],
    rows,
  );
}

function memoryTable(results: BenchResults): string {
  return table(
    [
      'jti form',
      'length',
      'live entries',
      'bytes per entry',
      'of which the jti string',
      'store overhead',
    ],
    results.memory.map((m) => [
      m.kind === 'uuid' ? 'UUID' : 'base64url(32 random bytes)',
      String(m.jtiLength),
      m.entries.toLocaleString('en-US'),
      fixed(m.bytesPerEntry),
      fixed(m.stringBytesPerEntry),
      fixed(m.bytesPerEntry - m.stringBytesPerEntry),
    ]),
  );
}

function storeTable(results: BenchResults): string {
  return table(
    ['store', 'calls in flight', 'Node CPU µs/call', 'Redis CPU µs/call', 'calls/s'],
    results.stores.map((s) => [
      s.name,
      String(s.concurrency),
      fixed(s.cpuUs),
      s.redisCpuUs === undefined ? '–' : fixed(s.redisCpuUs),
      String(Math.round(s.callsPerSecond)),
    ]),
  );
}

function targetsTable(results: BenchResults): string {
  const rows: string[][] = [];
  const add = (target: string, kind: string, ratio: number, limit: number, atMost: boolean) =>
    rows.push([
      target,
      kind,
      times(ratio),
      `${atMost ? '≤' : '≥'} ${limit}×`,
      verdict(atMost ? ratio <= limit : ratio >= limit),
    ]);
  for (const { alg, cpu } of results.verifier) {
    const ratio = cpu.checkUs / cpu.floorUs;
    add('verifier `check()` ÷ floor (§1)', alg, ratio, TARGETS.verifierVsFloor, true);
  }
  for (const { alg, cpu } of results.verifier) {
    const ratio = cpu.checkBoundUs / cpu.floorUs;
    const target = 'verifier `check()`, bound token ÷ floor (§1, issue 15)';
    add(target, alg, ratio, TARGETS.verifierVsFloor, true);
  }
  for (const { alg, cpu } of results.verifier) {
    const ratio = cpu.joseUs / cpu.checkUs;
    if (Number.isNaN(ratio)) continue; // jose 6 has no Ed448
    add('jose pipeline ÷ verifier `check()` (§1)', alg, ratio, TARGETS.joseVsVerifier, false);
  }
  for (const row of results.http) {
    const ratio = row.paired.guardVsFloor;
    const target = 'guard + memory store: added ÷ floor, same server (§2)';
    add(target, row.alg, ratio, TARGETS.guardVsFloor, true);
  }
  for (const row of results.http) {
    const ratio = row.paired.memoryAddedUs / floorOf(results, row.alg);
    const target = 'guard + memory store: added ÷ hot-loop floor of §1';
    add(target, row.alg, ratio, TARGETS.guardVsFloor, true);
  }
  for (const row of results.http) {
    const ratio = row.paired.redisVsMemoryRps;
    add('req/s with Redis ÷ with memory store (§2)', row.alg, ratio, TARGETS.redisVsMemory, false);
  }
  for (const m of results.memory) {
    rows.push([
      'memory store bytes per live jti (§3)',
      `${m.jtiLength}-char jti`,
      fixed(m.bytesPerEntry),
      `≤ ${TARGETS.bytesPerJti}`,
      verdict(m.bytesPerEntry <= TARGETS.bytesPerJti),
    ]);
  }
  return table(['target', 'case', 'measured', 'target', 'verdict'], rows);
}

/** The result tables, for the console. */
export function renderTables(results: BenchResults): string {
  return [
    'Targets',
    targetsTable(results),
    '',
    'Verifier, CPU µs per proof (medians)',
    verifierTable(results),
    '',
    'Verifier, wall-clock µs per proof (medians)',
    verifierWallTable(results),
    '',
    'End to end (medians)',
    httpTable(results),
    '',
    'Memory store',
    memoryTable(results),
    '',
    'Replay stores, per call (medians)',
    storeTable(results),
    '',
    'Beside the peers, CPU µs per request (medians)',
    peersTable(results.peers),
    '',
    'Event hook cost',
    hookTable(results.peers),
  ].join('\n');
}

/** `docs/BENCHMARKS.md`: the tables with the machine, the command and how to read them. */
export function renderMarkdown(results: BenchResults): string {
  const { machine, httpSettings: http } = results;
  const verifierRounds = results.verifier[0]?.rounds ?? 0;
  return `# Benchmarks

Generated by \`npm run bench\` (\`bench/run.ts\`) on ${results.date.toISOString().slice(0, 10)}; the
whole run took ${Math.round(results.totalSeconds)} s. Re-run it to refresh this file; do not edit it
by hand.

## Machine

| | |
| --- | --- |
| CPU | ${machine.cpu} |
| Cores | ${machine.cores} |
| Memory | ${machine.memoryGiB} GiB |
| OS | ${machine.os} |
| Node.js | ${machine.node} |
| Redis | ${machine.redis} (${machine.redisUrl}) |

A shared, noisy 2-core virtual machine: the load generator, the server and Redis share the
cores. Read the **ratios**, measured side by side in one run; absolute times move from run to
run and from machine to machine.

## How to run

<!-- docs-check: skip (the benchmark itself: minutes of load; run by hand) -->
\`\`\`sh
npm run bench        # builds, then runs dist/bench/run.js; a few minutes
\`\`\`

It needs Redis at \`REDIS_URL\` (default \`redis://127.0.0.1:6379\`; keys under
\`bench:dpop:jti:\`, deleted at the end) and otherwise uses loopback only.
\`BENCH_QUICK=1 npm run bench\` is a shorter smoke run that prints the tables and leaves this
file alone. The benchmark is not part of \`npm test\`.

## Targets (issues 6 and 15)

${targetsTable(results)}

## 1. Verifier, per proof

Median µs per proof over ${verifierRounds} rounds. In each round every contender verifies one
batch of proofs (${results.verifier.map((v) => `${v.alg} ${v.batch}`).join(', ')}), one after
the other, the starting contender rotating, with a full GC before each batch; a warm-up round is
not counted. Each contender has its own proofs (same key, a UUID jti each), so none of them
profits from another's work and \`verify()\` never sees a replay. The time is the process's CPU
time (all threads: jose's WebCrypto runs on libuv's pool), which other processes on this shared
machine cannot inflate by preempting it; wall-clock medians follow for comparison.

- **floor**: \`crypto.verify\` of the signing input (already a \`Buffer\`) against the signature
  (already decoded) with a \`KeyObject\` imported once. Nothing that checks the signature costs
  less.
- **check()**: \`DPoPProofVerifier.check()\`, every check of RFC 9449 §4.3 but the replay store:
  structure, header, signature, claims, \`htu\` and \`iat\`. Key cache warm, as with any agent
  that sends more than one proof.
- **bound token**: a request with a DPoP-bound JWT access token (\`Authorization: DPoP <JWT>\`,
  an RS256 \`at+jwt\` of about 800 characters with \`cnf.jkt\`), as the guard handles it: the
  token's \`cnf.jkt\` read (cached per token, as the guard's default reader does), then
  \`check()\` with \`accessToken\` (the proof's \`ath\` is checked) and \`expectedJkt\`. One token for all of its proofs, as an
  agent uses its token until it expires. Its own verifier and proofs, ratio to the floor of the
  same run.
- **bound, new token**: the same, but every proof comes with a token not seen recently (cycling
  through 2,048 of them): the cost when nothing about the token is remembered.
- **verify() + memory store**: \`verify()\`, what the guard calls: \`check()\` plus an atomic
  \`InMemoryJtiStore.recordIfNew\`.
- **check(), no key cache**: \`keyCacheSize: 0\`: every proof parses its header and imports its key.
- **jose pipeline**: the common approach, \`jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt',
  algorithms: [alg] })\` plus \`calculateJwkThumbprint(protectedHeader.jwk)\` (jose 6, WebCrypto).
- **key import**: \`crypto.createPublicKey({ key: jwk, format: 'jwk' })\` alone: what one key-cache
  hit saves.

CPU time:

${verifierTable(results)}

Wall-clock time:

${verifierWallTable(results)}

## 2. End to end

A minimal Nest app (\`bench/http/bench-app.module.ts\`: \`DPoPModule.forRoot({ required: true })\`,
\`DPoPGuard\` as \`APP_GUARD\`, Express) in a child process on 127.0.0.1; autocannon in the parent,
${http.connections} connections, no pipelining, ${http.requests.toLocaleString('en-US')} requests
per run, ${http.rounds} measured rounds (after a warm-up round), configurations interleaved, medians
shown.
Every request to the guarded route carries its own proof (unique jti, one key, correct \`htu\`),
minted before the run; the run fails unless every response is a 2xx.

- **no guard**: the same handler with \`@SkipDPoP()\`; the guard still runs and returns at that
  check.
- **no guard, handler runs the floor**: \`@SkipDPoP()\`, and the handler splits the proof, decodes
  the signature and runs \`crypto.verify\` with a key prepared at start-up: the floor of §1, in
  the same server under the same load.
- **guard + memory store**: the default \`InMemoryJtiStore\`.
- **guard + Redis store**: \`RedisJtiStore\` on an ioredis client with
  \`enableAutoPipelining: true\`, in an app (process) of its own; **no guard, Redis app** is
  that app's \`@SkipDPoP()\` route, its baseline.

All requests carry a proof of the same size, so every route parses the same bytes. **server CPU
µs/req** is the server process's CPU time (all threads) over the run, per request, read over IPC
before and after: unlike 1 / throughput it does not depend on whether the load generator, which
shares the two cores, keeps the server saturated. **added µs/req** is that minus the no-guard
route's in the same round, median over rounds: what the guard (or the floor) costs a request.
The ratios of the targets table are likewise taken round by round, then the median. **Redis
CPU** is redis-server's own CPU time (\`INFO cpu\`) per request, which the Node process does not
pay.

${httpTable(results)}

## 3. Memory store

\`InMemoryJtiStore\` filled with 1,000,000 live jtis (parsed from a JSON payload, as the verifier
gets them) in a fresh process started with \`--expose-gc\`: growth of \`heapUsed\` after full GCs,
per entry. The jti string alone is measured the same way in the same process.

${memoryTable(results)}

## 4. Replay stores, per call

\`recordIfNew\` with a fresh UUID jti, with as many calls in flight as concurrent requests would
have, interleaved batches, medians: this process's CPU time per call (GC included),
redis-server's (\`INFO cpu\`) and calls per second. The bare \`SET … PX … NX\` is the floor of
any Redis store: the difference is what \`RedisJtiStore\` adds (its readiness check and its
timeout). Auto-pipelining (an option of the ioredis client the application passes in) sends
the commands of one event-loop turn in one write: it pays off as concurrency grows.

${storeTable(results)}

${NOTES}
${peersMarkdown(results.peers)}`;
}
