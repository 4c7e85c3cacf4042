import { EventEmitter } from 'node:events';

/**
 * What {@link redisStandIn} returns: an object in the place of the app's ioredis client that never
 * connects. `status` is `'end'`; `quit()` and `disconnect()` do nothing; every other method
 * returns a rejected promise that names the stand-in (code that really needs Redis fails loudly).
 */
export type RedisStandIn = EventEmitter & {
  readonly status: 'end';
  quit(): Promise<'OK'>;
  disconnect(): void;
};

/** Properties that frameworks probe for, answered `undefined` rather than with a command. */
const NOT_COMMANDS = new Set(['then', 'toJSON', 'asymmetricMatch', 'nodeType', 'inspect']);

/**
 * A stand-in for the application's own Redis client in tests that swap the replay store, so that
 * no client is created and nothing connects: with `@nestjs-modules/ioredis`,
 * `overrideProvider(getRedisConnectionToken()).useValue(redisStandIn())` replaces the provider
 * that would make the client, and `overrideProvider(JtiStore)` the store. The `RedisJtiStore`
 * your `DPoPModule.forRootAsync` factory still builds is handed the stand-in and never starts
 * (it starts only as the module's `JtiStore`, or at first use).
 *
 * @example
 * ```ts
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(getRedisConnectionToken()) // no Redis client is created
 *   .useValue(redisStandIn())
 *   .overrideProvider(JtiStore) // the replay store the guard uses
 *   .useValue(new InMemoryJtiStore())
 *   .compile();
 * ```
 */
export function redisStandIn(): RedisStandIn {
  const emitter = new EventEmitter();
  const own: Record<string, unknown> = {
    status: 'end',
    quit: () => Promise.resolve('OK'),
    disconnect: () => undefined,
  };
  return new Proxy(emitter, {
    get(target, property, receiver) {
      if (typeof property === 'symbol') return Reflect.get(target, property, receiver);
      if (property in own) return own[property];
      if (property in target) {
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      // Not a thenable (`await`), not a provider with lifecycle hooks (Nest calls `onModuleInit`
      // and the like on a `useValue`), nothing test matchers or inspectors probe for.
      if (NOT_COMMANDS.has(property) || /^(on|before)[A-Z]/.test(property)) return undefined;
      return () =>
        Promise.reject(
          new Error(
            `redisStandIn().${property}() was called: this test replaced the application's ` +
              'Redis client (nest-dpop/testing); override what uses it too, or use a real Redis',
          ),
        );
    },
  }) as RedisStandIn;
}
