// The Redis wiring of nest-dpop's README ("A replay store shared by every instance"), word for
// word; only the lines marked "the app's own" are this app's.
import {
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConfigModule, ConfigService } from '@nestjs/config';
import {
  InjectRedis,
  RedisModule,
  getRedisConnectionToken,
} from '@nestjs-modules/ioredis';
import type { Redis } from 'ioredis';
import { DPoPGuard, DPoPModule, RedisJtiStore } from 'nest-dpop';
// The app's own (as nest new made them):
import { AppController } from './app.controller';
import { AppService } from './app.service';

/** Closes the app's Redis client when the app closes (app.close(), enableShutdownHooks()). */
@Injectable()
export class RedisShutdown implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    // @nestjs-modules/ioredis quits only the first app's client in a process (a test file makes
    // one app per test), and quit() on a closed client fails with "Connection is closed.".
    if (this.redis.status === 'end') return;
    if (this.redis.status !== 'ready') return this.redis.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** One warning per distinct Redis error, not one per reconnection attempt. */
export function logRedisErrors(client: Redis): void {
  const logger = new Logger('Redis');
  let last: string | undefined;
  client.on('error', (error: Error) => {
    if (error.message !== last) logger.warn(`Redis: ${(last = error.message)}`);
  });
  client.on('ready', () => (last = undefined));
}

@Module({
  imports: [
    ConfigModule.forRoot(),
    RedisModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        type: 'single',
        url: config.get<string>('REDIS_URL', 'redis://127.0.0.1:6379'),
        // A Redis outage is a 503 at once, not a request held until Redis is back.
        options: { enableOfflineQueue: false },
        // Without an `error` listener ioredis prints "Unhandled error event" on every attempt.
        onClientReady: logRedisErrors,
      }),
    }),
    DPoPModule.forRootAsync({
      inject: [getRedisConnectionToken()],
      useFactory: (redis: Redis) => ({
        fromEnv: true,
        store: new RedisJtiStore(redis),
      }),
    }),
  ],
  controllers: [AppController], // the app's own
  providers: [
    AppService,
    { provide: APP_GUARD, useExisting: DPoPGuard },
    RedisShutdown,
  ],
})
export class AppModule {}
