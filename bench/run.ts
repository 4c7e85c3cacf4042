/**
 * `npm run bench`: the DPoP benchmark of issue 6. Measures the verifier against the floor and
 * the jose pipeline, the replay stores per call, the memory store's bytes per jti and the guard
 * end to end (no guard, floor, memory store, Redis store); prints the tables and writes
 * docs/BENCHMARKS.md. Needs Redis at `REDIS_URL` (default redis://127.0.0.1:6379); otherwise
 * loopback only.
 *
 * `BENCH_QUICK=1`: fewer rounds and requests, prints only (a smoke run, not for the record).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DPoPAlgorithm } from 'nest-dpop';
import { benchBodyLimits } from './app/body-limits.bench.js';
import { benchClient } from './client/client.bench.js';
import { benchHttp, deleteBenchKeys } from './http/http.bench.js';
import { describeMachine } from './lib/machine.js';
import { benchStores } from './stores/store.bench.js';
import { benchSizing, renderSizingTable } from './sizing/sizing.bench.js';
import { benchMemory } from './memory/memory.bench.js';
import { renderMarkdown, renderTables, type BenchResults } from './report.js';
import { benchVerifierAlgorithm, type VerifierResult } from './verifier/verifier.bench.js';
import { benchPeersAlgorithm, type PeerResult } from './peers/peers.bench.js';
import { benchResource, renderResourceMarkdown } from './resource/resource.bench.js';
import { RESOURCE_SETTINGS } from './resource/resource-report.js';

const ALGORITHMS: readonly DPoPAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];
/** The verifier section: every default algorithm, and one opt-in one per key family. */
const VERIFIER_ALGORITHMS: readonly DPoPAlgorithm[] = [
  // the default set
  'EdDSA',
  'Ed25519',
  'ES256',
  'RS256',
  // opt-in: EC, RSA-PSS, OKP Ed448
  'ES384',
  'PS256',
  'Ed448',
];
const QUICK = process.env.BENCH_QUICK === '1';
const SETTINGS = QUICK
  ? { verifierRounds: 3, httpRounds: 1, requests: 2_000, connections: 10, storeRounds: 2 }
  : { verifierRounds: 25, httpRounds: 5, requests: 6_000, connections: 10, storeRounds: 10 };
const OUTPUT = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url));

const log = (line: string) => process.stdout.write(`${line}\n`);
const started = performance.now();
const machine = await describeMachine();
log(`DPoP benchmark${QUICK ? ' (quick)' : ''}: ${machine.cpu}, ${machine.cores} cores`);
if ((globalThis as { gc?: unknown }).gc === undefined) {
  log('  (no --expose-gc: batches run without a GC in between)');
}

log('1/4 verifier, per proof');
const verifier: VerifierResult[] = [];
for (const alg of VERIFIER_ALGORITHMS) {
  const result = await benchVerifierAlgorithm(alg, SETTINGS.verifierRounds);
  verifier.push(result);
  const { floorUs, checkUs, checkBoundUs, joseUs } = result.cpu;
  log(
    `  ${alg}: floor ${floorUs.toFixed(1)} µs, check() ${checkUs.toFixed(1)} µs ` +
      `(${(checkUs / floorUs).toFixed(2)}x), bound token ${checkBoundUs.toFixed(1)} µs ` +
      `(${(checkBoundUs / floorUs).toFixed(2)}x), jose ${Number.isNaN(joseUs) ? 'n/a' : joseUs.toFixed(1) + ' µs'} (CPU)`,
  );
}

log('2/4 replay stores, per call');
const stores = await benchStores({
  rounds: SETTINGS.storeRounds,
  callsPerBatch: 4_000,
  concurrency: [SETTINGS.connections, 100],
});

log('3/4 memory store, 1,000,000 live jtis');
const memory = [await benchMemory('uuid'), await benchMemory('b64')];

log('4/4 end to end');
let http;
try {
  http = await benchHttp({
    algorithms: ALGORITHMS,
    rounds: SETTINGS.httpRounds,
    requests: SETTINGS.requests,
    connections: SETTINGS.connections,
    log,
  });
} finally {
  log(`  deleted ${await deleteBenchKeys()} Redis keys`);
}

log(await benchBodyLimits(QUICK ? 2 : 5)); // issue 11 finding 2: hostile vs normal body
log('+ beside the peers (auth0, oidc-provider) and the event hook');
const peers: PeerResult[] = [];
for (const alg of ALGORITHMS) peers.push(await benchPeersAlgorithm(alg, QUICK ? 2 : 11));

log('+ resource server: verified access tokens beside the DPoP-only guard and auth0 auth()');
const resource = await benchResource({ ...RESOURCE_SETTINGS(QUICK), log });

log('+ the client: browser bundle of the WebCrypto core, proof cost WebCrypto vs node:crypto');
const client = await benchClient(QUICK, log);

log(
  '+ sizing inputs: Redis bytes per jti, CPU per proof, history checks (one Redis, 3-master Cluster)',
);
const sizing = await benchSizing(log);

const results: BenchResults = {
  date: new Date(),
  machine,
  totalSeconds: (performance.now() - started) / 1000,
  verifier,
  http,
  httpSettings: {
    rounds: SETTINGS.httpRounds,
    requests: SETTINGS.requests,
    connections: SETTINGS.connections,
  },
  memory,
  stores,
  peers,
};
log('');
log(renderTables(results));
log(renderResourceMarkdown(resource));
log(client);
if (!QUICK) {
  writeFileSync(
    OUTPUT,
    `${renderMarkdown(results).trimEnd()}\n\n${renderResourceMarkdown(resource)}\n\n` +
      `## Sizing inputs (the model: docs/sizing.md)\n\n${renderSizingTable(sizing)}\n\n${client}\n`,
  );
  log(`\nwrote ${OUTPUT}`);
}
