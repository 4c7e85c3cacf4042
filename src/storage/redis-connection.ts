import { Logger } from '@nestjs/common';
import type { RedisModuleOptions } from '@nestjs-modules/ioredis';
import type { Redis } from 'ioredis';
import { Problems } from '../common/problems.js';
import { StartupError } from '../config/startup-error.js';

const logger = new Logger('Redis');

/**
 * Client options for `RedisModule.forRootAsync`. Commands fail fast while Redis is away (no
 * offline queue, a command timeout) so a request gets a 503 instead of hanging, and connection
 * errors are logged instead of ioredis' "Unhandled error event".
 */
export function redisModuleOptions(url: string): RedisModuleOptions {
  return {
    type: 'single',
    url,
    options: {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: 5_000,
      commandTimeout: 2_000,
      maxRetriesPerRequest: 1,
      // Back within half a second of Redis (ioredis' default backs off to 2 s): after a restart
      // the replay store re-checks its history on reconnect and clients recover in one round trip.
      retryStrategy: (times: number) => Math.min(times * 50, 500),
    },
    onClientReady: (client) => {
      let last = '';
      // Until the first `ready`, start-up (ensureRedisReady) reports the failure, in one line.
      let started = false;
      client.on('error', (error: Error) => {
        // One line per distinct error, not one per reconnection attempt.
        if (started && error.message !== last) logger.error(`Redis error: ${error.message}`);
        last = error.message;
      });
      client.on('ready', () => {
        started = true;
        last = '';
      });
    },
  };
}

/**
 * Resolves once the client is ready; connects a lazy client. Start-up waits on it, so a wrong
 * `REDIS_URL` stops the app with a clear error instead of failing every request later. The
 * first connection error fails at once (no silent wait for the timeout).
 * @throws StartupError naming `REDIS_URL`
 */
export async function ensureRedisReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  const ready = new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    const timer = setTimeout(() => {
      done();
      reject(new StartupError(`REDIS_URL: Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      done();
      resolve();
    };
    const onError = (error: Error): void => {
      done();
      reject(new StartupError(`REDIS_URL: Redis is not reachable (${error.message})`));
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
  if (client.status === 'wait') client.connect().catch(() => undefined); // the timeout reports it
  await ready;
}

/**
 * Closes a client made for the app, if it is still open. `@nestjs-modules/ioredis` may be
 * quitting it at the same moment: a second QUIT is then refused, so wait for the `end` event
 * (and only force the socket shut if it never comes).
 */
export async function closeRedis(client: Redis, timeoutMs = 1_000): Promise<void> {
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
