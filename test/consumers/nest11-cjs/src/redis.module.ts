import { once } from 'node:events';
import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

/** The app's own Redis connection (nest-dpop never makes or closes one). */
export const REDIS = 'REDIS';

/** Where the replay keys go: a prefix of this consumer's own (run.sh removes its keys after). */
export const KEY_PREFIX = process.env.KEY_PREFIX ?? 'nest-dpop-consumer:nest11-cjs:';

@Injectable()
export class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      useFactory: async (): Promise<Redis> => {
        const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
        // RedisJtiStore refuses (503) until its client is ready; an unreachable Redis fails here.
        await once(redis, 'ready');
        return redis;
      },
    },
    RedisCloser,
  ],
  exports: [REDIS],
})
export class RedisModule {}
