/**
 * `npm run bench:resource`: the resource-server section of `npm run bench` on its own
 * (BENCH_QUICK=1 for a smoke run). Prints the table; `npm run bench` also writes it to
 * docs/BENCHMARKS.md. For A/B runs of one case: BENCH_RS_PLATFORMS=fastify,
 * BENCH_RS_CONNECTIONS=16, BENCH_RS_ROUNDS, BENCH_RS_REQUESTS; BENCH_RS_JSON=file also writes the
 * raw result there.
 */
import { writeFileSync } from 'node:fs';
import type { ResourcePlatform } from './resource-bench.constants.js';
import { benchResource, renderResourceMarkdown } from './resource.bench.js';
import { RESOURCE_SETTINGS } from './resource-report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const list = (name: string) => process.env[name]?.split(',').filter((v) => v !== '');
const settings = RESOURCE_SETTINGS(QUICK);
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`resource-server benchmark${QUICK ? ' (quick)' : ''}`);
const result = await benchResource({
  rounds: Number(process.env.BENCH_RS_ROUNDS ?? settings.rounds),
  requests: Number(process.env.BENCH_RS_REQUESTS ?? settings.requests),
  connections: list('BENCH_RS_CONNECTIONS')?.map(Number) ?? settings.connections,
  platforms: (list('BENCH_RS_PLATFORMS') as ResourcePlatform[] | undefined) ?? settings.platforms,
  log,
});
if (process.env.BENCH_RS_JSON) writeFileSync(process.env.BENCH_RS_JSON, JSON.stringify(result));
log('');
log(renderResourceMarkdown(result));
