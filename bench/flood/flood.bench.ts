/**
 * `npm run bench:flood` (issue 21 item 3): 200,000 fresh, validly self-signed proofs from one
 * address (127.0.0.2, a new key every 100 proofs) at an unauthenticated route, while a victim at
 * 127.0.0.3 sends one fresh proof every 20 ms. Before (`proofBudget: false`) and after (the
 * default budget), on the memory store (maxEntries 100,000: the full flood fills it without the budget) and
 * on a private Redis (its DBSIZE and used_memory). Prints the victim's success rate, the
 * flooder's, and the store's size during and after the flood.
 *
 * `BENCH_FLOOD_PROOFS=20000` for a shorter run.
 */
import 'reflect-metadata';
import { Agent, request as httpRequest } from 'node:http';
import { Controller, HttpCode, Module, Post, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import {
  DPoPGuard,
  DPoPModule,
  InMemoryJtiStore,
  RedisJtiStore,
  type DPoPModuleOptions,
  type JtiStore,
} from 'nest-dpop';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { makeBenchKey, mintProofs, type BenchKey } from '../lib/proof-factory.js';
import { startPrivateRedis, type PrivateRedis } from '../lib/private-redis.js';

const PROOFS = Number(process.env.BENCH_FLOOD_PROOFS ?? 200_000);
const IN_FLIGHT = 32;
/**
 * Half the full flood, above what the default budget lets one address keep (40,000): the flood
 * fills it without the budget, never with it. `BENCH_FLOOD_MAX_ENTRIES` to change it.
 */
const MEMORY_MAX_ENTRIES = Number(process.env.BENCH_FLOOD_MAX_ENTRIES ?? 100_000);
const PUBLIC_URL = 'http://api.test';
const TARGET = { htm: 'POST', htu: `${PUBLIC_URL}/items` };
const log = (line: string) => process.stdout.write(`${line}\n`);

@Controller()
class ItemsController {
  @Post('items')
  @HttpCode(200)
  create() {
    return { ok: true };
  }
}

function floodModule(options: DPoPModuleOptions) {
  @Module({
    imports: [DPoPModule.forRoot(options)],
    controllers: [ItemsController],
    providers: [{ provide: APP_GUARD, useClass: DPoPGuard }],
  })
  class FloodModule {}
  return FloodModule;
}

interface Run {
  label: string;
  victimOk: number;
  victimTotal: number;
  victimStatuses: Record<number, number>;
  flooderOk: number;
  flooderStatuses: Record<number, number>;
  peakSize: number;
  finalSize: number;
  startSize: number;
  bytes?: { start: number; peak: number };
  seconds: number;
}

function post(base: string, proof: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      `${base}/items`,
      { method: 'POST', agent, headers: { DPoP: proof, Host: 'api.test' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function run(
  label: string,
  store: JtiStore,
  size: () => Promise<number>,
  budget: DPoPModuleOptions['proofBudget'],
  memoryBytes?: () => Promise<number>,
): Promise<Run> {
  const app: INestApplication = await NestFactory.create(
    floodModule({
      store,
      publicUrl: PUBLIC_URL,
      allowedOrigins: [PUBLIC_URL],
      proofBudget: budget,
    }),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const flooderAgent = new Agent({
    keepAlive: true,
    maxSockets: IN_FLIGHT,
    localAddress: '127.0.0.2',
  });
  const victimAgent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.3' });
  const victimKey = makeBenchKey('ES256');
  const startSize = await size();
  const startBytes = await memoryBytes?.();
  let peakSize = startSize;
  let peakBytes = startBytes ?? 0;
  const flooderStatuses: Record<number, number> = {};
  const victimStatuses: Record<number, number> = {};
  let done = false;
  const started = performance.now();

  const sampler = (async () => {
    while (!done) {
      peakSize = Math.max(peakSize, await size());
      if (memoryBytes) peakBytes = Math.max(peakBytes, await memoryBytes());
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  const victim = (async () => {
    while (!done) {
      const [proof] = mintProofs(victimKey, TARGET, 1);
      const status = await post(base, proof!, victimAgent);
      victimStatuses[status] = (victimStatuses[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();

  let key: BenchKey = makeBenchKey('EdDSA');
  let batch: string[] = [];
  let sent = 0;
  const next = (): string => {
    if (batch.length === 0) {
      key = makeBenchKey('EdDSA'); // a new key every 100 proofs
      batch = mintProofs(key, TARGET, 100);
    }
    return batch.pop()!;
  };
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < PROOFS) {
        sent++;
        const status = await post(base, next(), flooderAgent);
        flooderStatuses[status] = (flooderStatuses[status] ?? 0) + 1;
      }
    }),
  );
  done = true;
  await Promise.all([sampler, victim]);
  const seconds = (performance.now() - started) / 1000;
  const finalSize = await size();
  flooderAgent.destroy();
  victimAgent.destroy();
  await app.close();
  const victimTotal = Object.values(victimStatuses).reduce((a, b) => a + b, 0);
  return {
    label,
    victimOk: victimStatuses[200] ?? 0,
    victimTotal,
    victimStatuses,
    flooderOk: flooderStatuses[200] ?? 0,
    flooderStatuses,
    peakSize: Math.max(peakSize, finalSize),
    finalSize,
    startSize,
    ...(startBytes !== undefined && { bytes: { start: startBytes, peak: peakBytes } }),
    seconds,
  };
}

const pct = (part: number, whole: number) =>
  whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)} %`;
const codes = (statuses: Record<number, number>) =>
  Object.entries(statuses)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');

log(
  `flood: ${PROOFS} fresh proofs from 127.0.0.2 (a new Ed25519 key every 100), ${IN_FLIGHT} in flight; victim at 127.0.0.3 every 20 ms`,
);
const results: Run[] = [];
/** `BENCH_FLOOD_PER_CLIENT`: the "after" runs' perClient (default: the library's default). */
const PER_CLIENT = process.env.BENCH_FLOOD_PER_CLIENT;
const AFTER: DPoPModuleOptions['proofBudget'] =
  PER_CLIENT === undefined ? undefined : { perClient: Number(PER_CLIENT) };
/** `BENCH_FLOOD_ONLY=after` (or `before`): one half only. */
const ONLY = process.env.BENCH_FLOOD_ONLY;
const budgets = ([false, AFTER] as DPoPModuleOptions['proofBudget'][]).filter((b) =>
  ONLY === undefined ? true : ONLY === 'before' ? b === false : b !== false,
);
for (const budget of budgets) {
  const name =
    budget === false
      ? 'before (proofBudget: false)'
      : `after (proofBudget ${PER_CLIENT === undefined ? 'default' : `perClient ${PER_CLIENT}`})`;
  const memory = new InMemoryJtiStore({ maxEntries: MEMORY_MAX_ENTRIES });
  results.push(
    await run(
      `memory store (maxEntries ${MEMORY_MAX_ENTRIES}), ${name}`,
      memory,
      () => Promise.resolve(memory.size),
      budget,
    ),
  );
  memory.onModuleDestroy();
  log(`  done: ${JSON.stringify(results.at(-1))}`);

  const server: PrivateRedis = await startPrivateRedis();
  const client = new Redis({ port: server.port, host: '127.0.0.1', enableAutoPipelining: true });
  await seedRedisJtiStoreHistory(client, {});
  const store = new RedisJtiStore(client, {});
  const info = async (field: string) =>
    Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(await client.info('memory'))?.[1] ?? 0);
  results.push(
    await run(
      `Redis (private server), ${name}`,
      store,
      () => client.dbsize(),
      budget,
      () => info('used_memory'),
    ),
  );
  store.onModuleDestroy();
  client.disconnect();
  await server.stop();
  log(`  done: ${JSON.stringify(results.at(-1))}`);
}

log('');
log(
  '| run | victim 200 | victim answers | flooder accepted | flooder answers | store keys: before → peak → after | Redis used_memory: before → peak |',
);
log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  log(
    `| ${r.label} | ${pct(r.victimOk, r.victimTotal)} (${r.victimOk}/${r.victimTotal}) | ${codes(r.victimStatuses)} | ${pct(r.flooderOk, PROOFS)} | ${codes(r.flooderStatuses)} | ${r.startSize} → ${r.peakSize} → ${r.finalSize} (flood: ${pct(r.peakSize - r.startSize - r.victimOk, PROOFS)}) | ${r.bytes ? `${(r.bytes.start / 1e6).toFixed(1)} MB → ${(r.bytes.peak / 1e6).toFixed(1)} MB (×${(r.bytes.peak / r.bytes.start).toFixed(1)})` : '—'} |`,
  );
}
process.exit(0);
