import { Inject } from '@nestjs/common';

/**
 * The replay cache for DPoP proof identifiers (RFC 9449 §11.1).
 *
 * One method, atomic by contract: two concurrent calls with the same key must never both
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
   * Records `key` as used for `ttlMs` milliseconds.
   *
   * `key` is the proof's replay key, not its raw jti: base64url(SHA-256(jkt + "." + jti)), 43
   * characters of the base64url alphabet, so a proof is identified by its key *and* its jti (one
   * client's jtis never block another's) and every entry has the same small size. Stores use it
   * as it is (the Redis store as `<prefix><key>`).
   * @param proof what the store may need to know about the proof: `iat`, its issue time in
   *   seconds since the epoch (as in the JWT). A store that can lose its history (e.g.
   *   {@link RedisJtiStore} after a Redis restart without persistence) uses it to refuse, for one
   *   acceptance window after a detected loss, every proof issued before the loss; stores that
   *   cannot lose history (the in-memory one) ignore it. Optional, so that older callers still
   *   type-check; a store that needs it and does not get it during such a window refuses.
   * @returns `true` when the key was new (the proof may proceed), `false` when it was already
   *   used, or may have been (issued before a loss of history).
   */
  recordIfNew(key: string, ttlMs: number, proof?: { iat: number }): Promise<boolean>;
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
