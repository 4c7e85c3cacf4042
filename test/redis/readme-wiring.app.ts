/**
 * The Redis wiring of libs/dpop/README.md ("A replay store on Redis"), as an app copies it:
 * `@nestjs-modules/ioredis` makes the client (`RedisModule.forRootAsync`), `DPoPModule.forRootAsync`
 * hands it to a `RedisJtiStore`, `RedisShutdown` closes it. Only the URL and the store's options
 * are parameters here (the README reads REDIS_URL through ConfigService).
 */
import {
  Controller,
  Get,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type Type,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { InjectRedis, RedisModule, getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type { Redis } from 'ioredis';
import { DPoPGuard, DPoPModule, JKT, RedisJtiStore, type RedisJtiStoreOptions } from 'nest-dpop';

/** Closes the app's Redis client when the app closes (README: "Closing the client"). */
@Injectable()
export class RedisShutdown implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status === 'end') return;
    if (this.redis.status !== 'ready') return this.redis.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Logs a Redis error once, not once per reconnection attempt (README's wiring). */
export function logRedisErrors(client: Redis): void {
  const logger = new Logger('Redis');
  let last: string | undefined;
  client.on('error', (error: Error) => {
    if (error.message !== last) logger.warn(`Redis: ${(last = error.message)}`);
  });
  client.on('ready', () => (last = undefined));
}

@Controller()
export class MeController {
  @Get('me')
  me(@JKT() jkt: string | undefined): { jkt: string | null } {
    return { jkt: jkt ?? null };
  }
}

export interface WiringOptions {
  url: string;
  store?: RedisJtiStoreOptions;
  /** Leave RedisShutdown out (to show what @nestjs-modules/ioredis does alone). */
  withoutShutdown?: boolean;
}

/** A root module wired as the README shows. */
export function readmeWiredModule(options: WiringOptions): Type {
  @Module({
    imports: [
      RedisModule.forRootAsync({
        imports: [],
        useFactory: () => ({
          type: 'single',
          url: options.url,
          options: { enableOfflineQueue: false },
          onClientReady: logRedisErrors,
        }),
      }),
      DPoPModule.forRootAsync({
        inject: [getRedisConnectionToken()],
        useFactory: (redis: Redis) => ({
          required: true,
          store: new RedisJtiStore(redis, options.store),
        }),
      }),
    ],
    controllers: [MeController],
    providers: [
      { provide: APP_GUARD, useExisting: DPoPGuard },
      ...(options.withoutShutdown === true ? [] : [RedisShutdown]),
    ],
  })
  class AppModule {}
  return AppModule;
}
