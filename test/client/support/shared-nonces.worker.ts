/**
 * One worker of an agent, for test/client/shared-nonces.e2e-spec.ts: it is bundled with esbuild
 * (the client core, the example Redis nonce store and ioredis) and run in a `node:worker_threads`
 * Worker, with the agent's non-extractable key passed in `workerData` (a `CryptoKey` crosses
 * threads by structured clone; it is never exported). It sends `requests` POSTs through the
 * fetch wrapper, with either the shared Redis nonce store or a memory store of its own, and
 * posts back what each response's status was.
 */
import { Redis } from 'ioredis';
import { parentPort, workerData } from 'node:worker_threads';
import {
  createDPoPFetch,
  DPoPGenerator,
  DPoPNonceStore,
  type DPoPNonceStorage,
} from '../../../libs/dpop-client/src/index.js';
import { RedisNonceStore } from '../../../examples/shared-nonces/redis-nonce.store.js';

/** What the test hands each worker. */
export interface SharedNoncesWorkerData {
  url: string;
  keys: Parameters<typeof DPoPGenerator.fromKeyPair>[0];
  store: 'redis' | 'memory';
  redisUrl: string;
  prefix: string;
  requests: number;
}

/** What the worker posts back. */
export interface SharedNoncesWorkerResult {
  jkt: string;
  /** The status of each response the caller got (after the wrapper's retry, if any). */
  statuses: number[];
}

async function main(): Promise<void> {
  const data = workerData as SharedNoncesWorkerData;
  const redis = data.store === 'redis' ? new Redis(data.redisUrl) : undefined;
  try {
    const nonces: DPoPNonceStorage = redis
      ? new RedisNonceStore(redis, { prefix: data.prefix })
      : new DPoPNonceStore();
    const generator = await DPoPGenerator.fromKeyPair(data.keys);
    const dpopFetch = createDPoPFetch(generator, { nonces });
    const statuses: number[] = [];
    for (let i = 0; i < data.requests; i++) {
      const res = await dpopFetch(data.url, { method: 'POST' });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    parentPort!.postMessage({ jkt: generator.jkt, statuses } satisfies SharedNoncesWorkerResult);
  } finally {
    await redis?.quit();
  }
}

void main();
