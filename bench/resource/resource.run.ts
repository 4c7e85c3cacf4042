/**
 * `npm run bench:resource`: the resource-server section of `npm run bench` on its own
 * (BENCH_QUICK=1 for a smoke run). Prints the table; `npm run bench` also writes it to
 * docs/BENCHMARKS.md.
 */
import { benchResource, renderResourceMarkdown } from './resource.bench.js';

const QUICK = process.env.BENCH_QUICK === '1';
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`resource-server benchmark${QUICK ? ' (quick)' : ''}`);
const result = await benchResource({
  rounds: QUICK ? 1 : 3,
  requests: QUICK ? 600 : 2000,
  connections: [1, 16, 64],
  platforms: ['express', 'fastify'],
  log,
});
log('');
log(renderResourceMarkdown(result));
