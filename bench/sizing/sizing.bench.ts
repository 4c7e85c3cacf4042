/**
 * Sizing inputs (issue 21 item 7), on private redis-servers of this machine: one Redis, and a
 * 3-master Cluster. For each: bytes per live jti (`MEMORY USAGE` of real keys written by
 * `RedisJtiStore`, and `used_memory` grown per key), Redis CPU per proof (the servers' own CPU
 * time, from /proc, over a batch of `recordIfNew` calls), and the CPU of the store's periodic
 * history checks per master (idle servers with and without a store). Printed as a table, with
 * the Cluster against the single Redis as ratios. Used by `npm run bench` (last section) and
 * `npm run bench:sizing`; the model built on it is docs/sizing.md.
 *
 * `BENCH_SIZING_KEYS=20000` (default 50,000) for a shorter run.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { RedisJtiStore } from 'nest-dpop';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { startPrivateCluster, startPrivateRedis, type PrivateRedis } from '../lib/private-redis.js';

const KEYS = Number(process.env.BENCH_SIZING_KEYS ?? 50_000);
/** The default replay window (proofTtl 120 + clockSkew 60 + 1 s). */
const WINDOW_MS = 181_000;
const IN_FLIGHT = 100;
const IDLE_SECONDS = 10;

export interface SizingResult {
  layout: 'single' | 'cluster';
  masters: number;
  /** Mean `MEMORY USAGE` of sampled replay keys, bytes. */
  memoryUsageBytes: number;
  /** `used_memory` grown per live key (all masters), bytes. */
  usedMemoryPerKey: number;
  /** Redis CPU per proof, all masters together, µs. */
  cpuPerProofUs: number;
  /** Redis CPU of the history checks, per master, ms per second (‰ of a core). */
  checkCpuPerMasterMsPerS: number;
}

const replayKey = () => randomBytes(32).toString('base64url').slice(0, 43);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function usedMemory(clients: Redis[]): Promise<number> {
  let total = 0;
  for (const c of clients) {
    total += Number(/^used_memory:(\d+)/m.exec(await c.info('memory'))?.[1] ?? 0);
  }
  return total;
}

async function measure(layout: 'single' | 'cluster'): Promise<SizingResult> {
  const servers: PrivateRedis[] =
    layout === 'single' ? [await startPrivateRedis()] : await startPrivateCluster(3);
  const direct = servers.map((s) => new Redis({ port: s.port, host: '127.0.0.1' }));
  const cpu = () => servers.reduce((sum, s) => sum + s.cpuSeconds(), 0);
  try {
    // Idle: the servers alone, then with a store checking its history every second.
    let before = cpu();
    await sleep(IDLE_SECONDS * 1000);
    const idle = cpu() - before;
    const client =
      layout === 'single'
        ? new Redis({ port: servers[0]!.port, host: '127.0.0.1', enableAutoPipelining: true })
        : new Cluster(
            servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
            { enableAutoPipelining: true },
          );
    await new Promise((resolve) => client.once('ready', resolve));
    await seedRedisJtiStoreHistory(client, {});
    const store = new RedisJtiStore(client, {});
    await store.probe();
    before = cpu();
    await sleep(IDLE_SECONDS * 1000);
    const checking = cpu() - before;

    // Bytes: real keys, written by the store.
    const memoryBefore = await usedMemory(direct);
    const iat = Math.floor(Date.now() / 1000);
    before = cpu();
    let written = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (written < KEYS) {
          written++;
          if (!(await store.recordIfNew(replayKey(), WINDOW_MS, { iat }))) {
            throw new Error('a fresh key was refused');
          }
        }
      }),
    );
    const proofCpu = cpu() - before;
    const memoryAfter = await usedMemory(direct);
    const samples: number[] = [];
    for (const c of direct) {
      for (let i = 0; i < 100; i++) {
        const key = await c.randomkey();
        if (key === null || key.includes('#')) continue;
        samples.push(Number(await c.memory('USAGE', key)));
      }
    }
    store.onModuleDestroy();
    client.disconnect();
    return {
      layout,
      masters: servers.length,
      memoryUsageBytes: samples.reduce((a, b) => a + b, 0) / samples.length,
      usedMemoryPerKey: (memoryAfter - memoryBefore) / KEYS,
      cpuPerProofUs: (proofCpu / KEYS) * 1e6,
      checkCpuPerMasterMsPerS: (((checking - idle) / IDLE_SECONDS) * 1000) / servers.length,
    };
  } finally {
    for (const c of direct) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Measures both layouts and prints the table; returns the results. */
export async function benchSizing(log: (line: string) => void): Promise<SizingResult[]> {
  log(`sizing: ${KEYS} replay keys through RedisJtiStore, ${IN_FLIGHT} in flight, window 181 s`);
  const results = [await measure('single'), await measure('cluster')];
  log('');
  log(renderSizingTable(results));
  return results;
}

/** The sizing inputs as a Markdown table, with the Cluster against one Redis as ratios. */
export function renderSizingTable([single, cluster]: SizingResult[]): string {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const rows = [
    '| layout | MEMORY USAGE per key | used_memory per key | Redis CPU per proof (all masters) | history checks, per master |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of [single!, cluster!]) {
    rows.push(
      `| ${r.layout === 'single' ? 'one Redis' : `Cluster, ${r.masters} masters`} | ${r.memoryUsageBytes.toFixed(0)} B | ${r.usedMemoryPerKey.toFixed(0)} B | ${r.cpuPerProofUs.toFixed(1)} µs | ${r.checkCpuPerMasterMsPerS.toFixed(2)} ms/s |`,
    );
  }
  rows.push(
    `| Cluster ÷ one Redis | ${ratio(cluster!.memoryUsageBytes, single!.memoryUsageBytes)} | ${ratio(cluster!.usedMemoryPerKey, single!.usedMemoryPerKey)} | ${ratio(cluster!.cpuPerProofUs, single!.cpuPerProofUs)} | ${ratio(cluster!.checkCpuPerMasterMsPerS, single!.checkCpuPerMasterMsPerS)} |`,
  );
  return rows.join('\n');
}

if (process.argv[1]?.endsWith('sizing.bench.js')) {
  await benchSizing((line) => process.stdout.write(`${line}\n`));
  process.exit(0);
}
