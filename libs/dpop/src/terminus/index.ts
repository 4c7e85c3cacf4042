/**
 * `nest-dpop/terminus`: a readiness check of the DPoP replay store for `@nestjs/terminus` 11 or 12
 * (an optional peer dependency: only this subpath imports it).
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { JtiStoreNonceRequiredError } from '../errors/dpop.errors.js';
import { JtiStore, type JtiStoreReadiness } from '../stores/jti-store.interface.js';

/** Options of {@link DPoPHealthIndicator.isHealthy}. */
export interface DPoPStoreHealthOptions {
  /** How long the store may take to answer, in milliseconds. Default 1000. */
  timeoutMs?: number;
}

/**
 * Would the replay store accept a fresh proof? Judged as the store judges one: with the store's
 * own {@link JtiStore.probe} when it has one (the bundled stores do; the Redis store makes a real
 * one-second write, the memory store writes nothing), else by recording a random key for one
 * second. `down` (and with it every DPoP request would get 503) when the store is unreachable,
 * slow, full, read-only, may evict live records, or cannot tell whether it lost its history.
 * While a store recovers from a loss of history, fresh proofs are accepted after one
 * `use_dpop_nonce` round trip: that is `up`, with `replayHistory: 'recovering'`, since taking
 * the instance out of service would turn a one-round-trip hiccup into an outage.
 * Provide it next to `TerminusModule`; the `JtiStore` comes from the global `DPoPModule`.
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
      const readiness = await Promise.race([
        this.judge(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      // A random key already "used" means the store does not record what it is given.
      if (readiness === 'refused')
        return indicator.down({ store, message: 'store refused a new jti' });
      return indicator.up({
        store,
        latencyMs,
        replayHistory: readiness === 'ready' ? 'intact' : 'recovering',
      });
    } catch (error) {
      return indicator.down({
        store,
        message: error instanceof Error ? error.message : String(error),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private async judge(): Promise<JtiStoreReadiness | 'refused'> {
    if (typeof this.store.probe === 'function') return this.store.probe();
    try {
      const fresh = await this.store.recordIfNew(`nest-dpop:health:${randomUUID()}`, 1000, {
        iat: Math.floor(Date.now() / 1000),
      });
      return fresh ? 'ready' : 'refused';
    } catch (error) {
      if (error instanceof JtiStoreNonceRequiredError) return 'nonce-required';
      throw error;
    }
  }
}
