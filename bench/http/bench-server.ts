/**
 * Child process of the HTTP benchmark: serves {@link BenchAppModule} on 127.0.0.1 (a free port)
 * and answers its parent over IPC: `{ type: 'ready', port }` once listening, its CPU usage on
 * `'cpu'`, and it closes on `'stop'`. A process of its own so that the load generator never
 * shares its event loop, and so that its CPU time is the server's alone.
 *
 * Usage (forked, with the public JWKs in BENCH_PUBLIC_JWKS): bench-server.js memory|redis
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { RedisJtiStore } from 'nest-dpop';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import { benchRedis } from '../lib/redis-url.js';
import { BenchAppModule } from './bench-app.module.js';
import {
  BENCH_KEYS_ENV,
  REDIS_KEY_PREFIX,
  type PublicJwks,
  type ServerCommand,
  type ServerMessage,
  type StoreKind,
} from './bench-http.constants.js';

const kind = process.argv[2] as StoreKind;
const jwks = JSON.parse(process.env[BENCH_KEYS_ENV] ?? '{}') as PublicJwks;
const send = (message: ServerMessage) => process.send!(message);

let redis: Redis | undefined;
if (kind === 'redis') {
  // Auto-pipelining: commands issued in the same event-loop turn go out in one write, which is
  // what concurrent requests do. The store takes the application's client as it is.
  redis = benchRedis({ lazyConnect: true, enableAutoPipelining: true });
  await redis.connect();
  // A fresh Redis has no replay-history marker, which the store takes for a loss (clients would
  // need one use_dpop_nonce round trip): the bench measures the steady state.
  await seedRedisJtiStoreHistory(redis, { keyPrefix: REDIS_KEY_PREFIX });
}
const store = redis && new RedisJtiStore(redis, { keyPrefix: REDIS_KEY_PREFIX });
const app = await NestFactory.create(BenchAppModule.withStore(store, jwks), { logger: false });
await app.listen(0, '127.0.0.1');

process.on('message', (command: ServerCommand) => {
  if (command === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  if (command === 'stop') {
    void app.close().then(() => {
      redis?.disconnect();
      process.exit(0);
    });
  }
});
send({ type: 'ready', port: (app.getHttpServer().address() as AddressInfo).port });
