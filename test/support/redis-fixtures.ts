/**
 * Shared fixtures of the Redis e2e suites: clients on private servers or clusters, stores and
 * guard apps on them, all tracked and torn down by {@link closeRedisFixtures} (call it in
 * `afterAll`). Clients swallow their `error` events (the store reports outages as 503s); pass
 * an array to collect their messages.
 */
import type { INestApplication } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisJtiStore, type DPoPModuleOptions, type RedisJtiStoreOptions } from 'nest-dpop';
import { startGuardApp } from '../dpop-guard/guard-test.app.js';
import { stopAllRedisServers, type RedisClusterHandle, type RedisServer } from './redis-servers.js';

const clients: (Redis | Cluster)[] = [];
const stores: RedisJtiStore[] = [];
const apps: INestApplication[] = [];

/** Resolves once the client can take commands (on its `ready` event). */
export async function ready<T extends Redis | Cluster>(client: T): Promise<T> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

/** A tracked client of one server; not awaited (see {@link ready}). */
export function redisClient(
  server: RedisServer,
  options: RedisOptions = {},
  errors?: string[],
): Redis {
  const redis = new Redis({
    host: server.host,
    port: server.port,
    retryStrategy: () => 50,
    ...options,
  });
  return track(redis, errors);
}

/** A tracked Cluster client; not awaited (see {@link ready}). */
export function clusterClient(
  cluster: RedisClusterHandle,
  options: ClusterOptions = {},
  errors?: string[],
): Cluster {
  const client = new Cluster([...cluster.startupNodes], {
    clusterRetryStrategy: () => 100,
    redisOptions: { maxRetriesPerRequest: 1 },
    ...options,
  });
  return track(client, errors);
}

/** Tracks a client made elsewhere. */
export function track<T extends Redis | Cluster>(client: T, errors?: string[]): T {
  clients.push(client);
  client.on('error', (error: Error) => errors?.push(error.message));
  return client;
}

/** A tracked store (its timer and listeners stop at teardown). */
export function redisStore(
  client: Redis | Cluster,
  options: RedisJtiStoreOptions = {},
): RedisJtiStore {
  const store = new RedisJtiStore(client, options);
  stores.push(store);
  return store;
}

/** A tracked guard app (`POST /items`) on `store`. */
export async function serve(
  store: RedisJtiStore,
  options: Omit<DPoPModuleOptions, 'store'> = {},
): Promise<string> {
  const { app, base } = await startGuardApp({ ...options, store });
  apps.push(app);
  return base;
}

/** Closes every app, store and client made here, then stops every redis-server. */
export async function closeRedisFixtures(): Promise<void> {
  try {
    await Promise.allSettled(apps.splice(0).map((app) => app.close()));
    for (const store of stores.splice(0)) store.onModuleDestroy();
    for (const client of clients.splice(0)) client.disconnect();
  } finally {
    await stopAllRedisServers();
  }
}
