import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import type { AppConfig } from '../config/app-config.js';
import { AgentRegistry, StorageProbe } from './agent-registry.interface.js';
import { MemoryAgentRegistry } from './memory-agent.registry.js';
import { MemoryValidationStore } from './memory-validation.store.js';
import { RedisAgentRegistry } from './redis-agent.registry.js';
import { closeRedis, ensureRedisReady, type AppRedisClient } from './redis-connection.js';
import { RedisValidationStore } from './redis-validation.store.js';
import { ValidationStore } from './validation-store.interface.js';

/**
 * Closes the app's Redis client on shutdown. `@nestjs-modules/ioredis` does this too, but it
 * tracks connections in a static set that the first app to close clears, so a second app in
 * the same process (tests) would otherwise leave its client open.
 */
class RedisClientCloser implements OnApplicationShutdown {
  constructor(@Inject(getRedisConnectionToken()) private readonly client: AppRedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.client);
  }
}

function memoryProviders(maxRecords: number): Provider[] {
  return [
    { provide: ValidationStore, useFactory: () => new MemoryValidationStore(maxRecords) },
    { provide: AgentRegistry, useFactory: () => new MemoryAgentRegistry(maxRecords) },
    {
      provide: StorageProbe,
      useValue: { kind: 'memory', ping: () => Promise.resolve(true) } satisfies StorageProbe,
    },
  ];
}

function redisProviders(prefix: string, setting: string, retainMs: number): Provider[] {
  const inject = [getRedisConnectionToken()];
  return [
    {
      provide: ValidationStore,
      inject,
      useFactory: async (client: AppRedisClient) => {
        await ensureRedisReady(client, setting);
        return new RedisValidationStore(client, prefix);
      },
    },
    {
      provide: AgentRegistry,
      inject,
      useFactory: async (client: AppRedisClient) => {
        await ensureRedisReady(client, setting);
        return new RedisAgentRegistry(client, prefix, retainMs);
      },
    },
    {
      provide: StorageProbe,
      inject,
      useFactory: (client: AppRedisClient): StorageProbe => ({
        kind: 'redis',
        ping: () =>
          client.ping().then(
            (answer) => answer === 'PONG',
            () => false,
          ),
      }),
    },
    RedisClientCloser,
  ];
}

/**
 * Validations and the agent registry: in memory, or in Redis (one server or a Cluster) when
 * `REDIS_URL`, `REDIS_HOST` or `REDIS_CLUSTER_NODES` is set (then the app must also import
 * `RedisModule.forRootAsync`, which provides the client).
 */
@Module({})
export class StorageModule {
  static forRoot(
    config: Pick<AppConfig, 'redis' | 'memoryMaxRecords' | 'heartbeatTimeout' | 'tokenTtl'>,
  ): DynamicModule {
    // An agent record outlives its last heartbeat by its access token's lifetime, then expires.
    const retainMs = (config.heartbeatTimeout + config.tokenTtl.access) * 1000;
    return {
      module: StorageModule,
      global: true,
      providers: config.redis
        ? redisProviders(config.redis.keyPrefix, config.redis.setting, retainMs)
        : memoryProviders(config.memoryMaxRecords),
      exports: [ValidationStore, AgentRegistry, StorageProbe],
    };
  }
}
