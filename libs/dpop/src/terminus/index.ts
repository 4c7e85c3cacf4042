/**
 * `nest-dpop/terminus`: a readiness check of the DPoP replay store for `@nestjs/terminus` 12
 * (an optional peer dependency: only this subpath imports it).
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { JtiStore } from '../jti-store.interface.js';

/** Options of {@link DPoPHealthIndicator.isHealthy}. */
export interface DPoPStoreHealthOptions {
  /** How long the store may take to answer, in milliseconds. Default 1000. */
  timeoutMs?: number;
}

/**
 * Is the replay store taking writes? It records one random probe jti, exactly as a request
 * would (for Redis, one `SET … PX … NX`), kept for one second: a store that is down, slow, full
 * or read-only is `down`, and with it every DPoP request would get 503, so the instance is not
 * ready. Provide it next to `TerminusModule`; the `JtiStore` comes from the global `DPoPModule`.
 *
 * @example
 * ```ts
 * @Get('ready') @HealthCheck()
 * ready() { return this.health.check([() => this.dpop.isHealthy('dpop_replay_store')]); }
 * ```
 */
@Injectable()
export class DPoPHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(JtiStore) private readonly store: JtiStore,
  ) {}

  async isHealthy<const Key extends string = 'dpop_replay_store'>(
    key: Key = 'dpop_replay_store' as Key,
    options: DPoPStoreHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    const timeoutMs = options.timeoutMs ?? 1000;
    const store = this.store.constructor?.name ?? 'JtiStore';
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const fresh = await Promise.race([
        // As a proof issued now would be recorded: a store that refuses fresh proofs (e.g. Redis
        // right after it lost its history) is not ready.
        this.store.recordIfNew(`nest-dpop:health:${randomUUID()}`, 1000, {
          iat: Math.floor(Date.now() / 1000),
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      // A random jti already "used" means the store does not record what it is given.
      if (!fresh) return indicator.down({ store, message: 'store refused a new jti' });
      return indicator.up({ store, latencyMs });
    } catch (error) {
      return indicator.down({
        store,
        message: error instanceof Error ? error.message : String(error),
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
