import { Inject } from '@nestjs/common';

/**
 * The replay cache for DPoP proof identifiers (RFC 9449 §11.1).
 *
 * One method, atomic by contract: two concurrent calls with the same jti must never both
 * resolve `true`. Never implement it as "exists?" followed by "set", which two concurrent
 * requests can both pass.
 *
 * Implementations must reject (ideally with {@link JtiStoreUnavailableError}) when they cannot
 * answer; the guard turns that into a 503 and never lets the proof through.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-11.1
 */
export interface JtiStore {
  /**
   * Records `jti` as used for `ttlMs` milliseconds.
   * @param proof what the store may need to know about the proof: `iat`, its issue time in
   *   seconds since the epoch (as in the JWT). A store that can lose its history (e.g.
   *   {@link RedisJtiStore} after a Redis restart without persistence) uses it to refuse, for one
   *   acceptance window after a detected loss, every proof issued before the loss; stores that
   *   cannot lose history (the in-memory one) ignore it. Optional, so that older callers still
   *   type-check; a store that needs it and does not get it during such a window refuses.
   * @returns `true` when the jti was new (the proof may proceed), `false` when it was already
   *   used, or may have been (issued before a loss of history).
   */
  recordIfNew(jti: string, ttlMs: number, proof?: { iat: number }): Promise<boolean>;
}

/**
 * Injection token for the {@link JtiStore}; one import gives both the type and the token, as
 * `@nestjs/throttler` does with `ThrottlerStorage`. Swap it in tests with
 * `overrideProvider(JtiStore).useValue(…)`.
 */
export const JtiStore = Symbol('JtiStore');

/**
 * Injects the configured {@link JtiStore}.
 * @example constructor(@InjectJtiStore() private readonly store: JtiStore) {}
 */
export const InjectJtiStore = (): ParameterDecorator & PropertyDecorator => Inject(JtiStore);
