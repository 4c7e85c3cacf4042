import { Logger } from '@nestjs/common';
import type { RedisModuleOptions } from '@nestjs-modules/ioredis';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { Problems } from '../common/problems.js';
import type { RedisConfig } from '../config/redis.config.js';
import { StartupError } from '../config/startup-error.js';

const logger = new Logger('Redis');

/** The app's Redis client: one server, or a Cluster (`REDIS_CLUSTER_NODES`). */
export type AppRedisClient = Redis | Cluster;

/** Per-connection options: fail fast while Redis is away (see {@link redisModuleOptions}). */
const CONNECTION = {
  lazyConnect: true,
  enableOfflineQueue: false,
  connectTimeout: 5_000,
  commandTimeout: 2_000,
  maxRetriesPerRequest: 1,
  // Back within half a second of Redis (ioredis' default backs off to 2 s): after a restart
  // the replay store re-checks its history on reconnect and clients recover in one round trip.
  retryStrategy: (times: number) => Math.min(times * 50, 500),
} satisfies RedisOptions;

/**
 * Client options for `RedisModule.forRootAsync`, for one server (`REDIS_URL`, `REDIS_HOST`) or
 * a Cluster (`REDIS_CLUSTER_NODES`). Commands fail fast while Redis is away (no offline queue, a
 * command timeout) so a request gets a 503 instead of hanging, and connection errors are logged
 * instead of ioredis' "Unhandled error event".
 */
export function redisModuleOptions(config: RedisConfig): RedisModuleOptions {
  const target = config.target;
  if (target.kind === 'cluster') {
    return {
      type: 'cluster',
      nodes: target.nodes.map(({ host, port }) => ({ host, port })),
      options: {
        lazyConnect: true,
        enableOfflineQueue: false,
        // Same pace as a single server's reconnection.
        clusterRetryStrategy: CONNECTION.retryStrategy,
        redisOptions: {
          connectTimeout: CONNECTION.connectTimeout,
          commandTimeout: CONNECTION.commandTimeout,
          maxRetriesPerRequest: CONNECTION.maxRetriesPerRequest,
          ...(target.password !== undefined && { password: target.password }),
        },
      },
      onClientReady: logErrorsOnce,
    };
  }
  return target.kind === 'url'
    ? { type: 'single', url: target.url, options: CONNECTION, onClientReady: logErrorsOnce }
    : {
        type: 'single',
        options: {
          ...CONNECTION,
          host: target.host,
          port: target.port,
          ...(target.password !== undefined && { password: target.password }),
        },
        onClientReady: logErrorsOnce,
      };
}

/** One log line per distinct connection error, not one per reconnection attempt. */
function logErrorsOnce(client: AppRedisClient): void {
  let last = '';
  // Until the first `ready`, start-up (ensureRedisReady) reports the failure, in one line.
  let started = false;
  client.on('error', (error: Error) => {
    if (started && error.message !== last) logger.error(`Redis error: ${error.message}`);
    last = error.message;
  });
  client.on('ready', () => {
    started = true;
    last = '';
  });
}

/**
 * Resolves once the client is ready; connects a lazy client. Start-up waits on it, so a wrong
 * `REDIS_URL` (or `REDIS_HOST`, `REDIS_CLUSTER_NODES`: `setting`) stops the app with a clear
 * error instead of failing every request later. The first connection error fails at once (no
 * silent wait for the timeout).
 * @throws StartupError naming `setting`
 */
export function ensureRedisReady(
  client: AppRedisClient,
  setting = 'REDIS_URL',
  timeoutMs = 10_000,
): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  // Every provider that needs the client waits on the same attempt: when it fails, all of them
  // fail at once (the client is closed then, and would never say anything more).
  let waiting = readiness.get(client);
  if (waiting === undefined) {
    waiting = waitUntilReady(client, setting, timeoutMs).finally(() => readiness.delete(client));
    readiness.set(client, waiting);
  }
  return waiting;
}

/** Start-up's attempts to reach Redis, by client (see {@link ensureRedisReady}). */
const readiness = new WeakMap<AppRedisClient, Promise<void>>();

async function waitUntilReady(
  client: AppRedisClient,
  setting: string,
  timeoutMs: number,
): Promise<void> {
  const ready = new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    const timer = setTimeout(() => {
      done();
      reject(new StartupError(`${setting}: Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      done();
      resolve();
    };
    const onError = (error: Error): void => {
      done();
      reject(new StartupError(`${setting}: Redis is not reachable (${error.message})`));
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
  if (client.status === 'wait') client.connect().catch(() => undefined); // the timeout reports it
  try {
    await ready;
  } catch (error) {
    // Start-up stops here: no point in reconnecting (and a test process would not exit).
    client.disconnect();
    throw error;
  }
}

/**
 * Closes a client made for the app, if it is still open. `@nestjs-modules/ioredis` may be
 * quitting it at the same moment: a second QUIT is then refused, so wait for the `end` event
 * (and only force the socket shut if it never comes).
 */
export async function closeRedis(client: AppRedisClient, timeoutMs = 1_000): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    client.once('end', resolve);
    timer = setTimeout(resolve, timeoutMs);
  });
  client.quit().catch(() => undefined);
  await ended;
  clearTimeout(timer);
  // `status` changed while we waited (TypeScript still has it narrowed from the check above).
  if ((client.status as string) !== 'end') client.disconnect();
}

/** Runs a Redis call; any failure becomes a 503 `service-unavailable` problem. */
export async function redisCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    logger.error(`Redis command failed: ${error instanceof Error ? error.message : String(error)}`);
    throw Problems.storageUnavailable();
  }
}
