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
   * @param proof what the store may need to know about the proof (see {@link JtiStoreProofInfo}).
   *   A store that can lose its history (e.g. {@link RedisJtiStore} after a Redis restart without
   *   persistence) uses it to refuse, for one acceptance window after a detected loss, every proof
   *   that may have been used before the loss; stores that cannot lose history (the in-memory
   *   one) ignore it. Optional, so that older callers still type-check; a store that needs it and
   *   does not get it during such a window refuses.
   * @returns `true` when the key was new (the proof may proceed), `false` when it was already
   *   used.
   * @throws {JtiStoreUnavailableError} (503) when the store cannot answer;
   *   {@link JtiStoreNonceRequiredError} (401 `use_dpop_nonce`) when it lost its history and the
   *   proof can only be judged with a server nonce handed out after the loss.
   */
  recordIfNew(key: string, ttlMs: number, proof?: JtiStoreProofInfo): Promise<boolean>;

  /**
   * Optional: whether `nonce` is a server nonce this store handed out (with a
   * {@link JtiStoreNonceRequiredError}) and is still current. With the module's `nonce` option
   * on, the verifier accepts such a nonce in place of its own, so that a client recovering from
   * a loss of history needs one round trip, not two.
   */
  acceptsNonce?(nonce: string): boolean;

  /**
   * Optional: how a fresh proof (issued now, no nonce) would be judged, for readiness probes,
   * without leaving anything behind that outlives the probe. Resolves `ready` when it would be
   * recorded, `nonce-required` when the store is recovering from a loss of history (a proof is
   * accepted after one `use_dpop_nonce` round trip); rejects (like {@link recordIfNew}) when
   * proofs would get 503. Stores without it are probed with a `recordIfNew` of a random key.
   */
  probe?(): Promise<JtiStoreReadiness>;
}

/** What a {@link JtiStore} is told about the proof whose key it records. */
export interface JtiStoreProofInfo {
  /** The proof's issue time (`iat`), in seconds since the epoch, as in the JWT. */
  iat: number;
  /**
   * The proof's `nonce` claim, if it has one (unchecked: the store judges nonces it handed out
   * itself, see {@link JtiStoreNonceRequiredError}).
   */
  nonce?: string;
  /**
   * How far in the future the verifier accepts an `iat`, in seconds (its `clockSkew`): a proof
   * used just before a loss of history may carry an `iat` that late.
   */
  clockSkew?: number;
}

/** See {@link JtiStore.probe}. */
export type JtiStoreReadiness = 'ready' | 'nonce-required';

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
