import type { JtiStoreProofInfo } from '../jti-store.interface.js';

/** What {@link lossVerdict} judges a proof with. All times in ms on one clock. */
export interface LossPolicyInput {
  readonly now: number;
  /** When the loss that began the epoch of the proof's bucket was detected. */
  readonly lossAt: number;
  /** The proofs' acceptance window: how long after a loss a used proof may come back. */
  readonly windowMs: number;
  /** The store's `clockSkew`. */
  readonly clockSkewMs: number;
  /** The proof, if the caller told (a readiness probe passes a fresh one). */
  readonly proof: JtiStoreProofInfo | undefined;
  /** Whether the proof carries a recovery nonce handed out in the current epoch (after `lossAt`). */
  readonly recoveryNonceValid: boolean;
  /** Whether the store hands out recovery nonces (option on, and its secret known). */
  readonly recovery: boolean;
}

/** Why a proof that may predate a loss is refused, and how. */
export type LossVerdict =
  /** Nothing to judge it by: 503. */
  | { readonly refuse: 'no-iat' }
  /** 503, and a fresh proof without a nonce passes after `retryAfter` seconds. */
  | { readonly refuse: 'wait'; readonly retryAfter: number }
  /** 401 `use_dpop_nonce` with a nonce handed out now. */
  | { readonly refuse: 'nonce'; readonly retryAfter: number };

/**
 * The loss policy, pure. Within one window of its bucket's last loss, the refusal a proof that
 * may predate the loss gets, else `undefined` (accept). A proof cannot predate the loss if its
 * `iat` is later than the loss plus the clock skew (a proof used just before the loss may carry
 * an `iat` that far in the future: the larger of the store's and the verifier's), or if it
 * carries a recovery nonce handed out in the epoch the loss began. All times are Redis' (`TIME`),
 * so that instances whose clocks disagree judge alike. See `docs/replay-safety.md`.
 */
export function lossVerdict(input: LossPolicyInput): LossVerdict | undefined {
  const { now, lossAt, proof } = input;
  if (now >= lossAt + input.windowMs) return undefined;
  if (proof === undefined) return { refuse: 'no-iat' };
  const skewMs = Math.max(input.clockSkewMs, (proof.clockSkew ?? 0) * 1000);
  if (proof.iat * 1000 > lossAt + skewMs) return undefined;
  if (input.recoveryNonceValid) return undefined;
  // When a fresh proof without a nonce passes again: its iat (whole seconds, rounded down) must
  // be past the loss plus the skew.
  const retryAfter = Math.max(1, Math.ceil((lossAt + skewMs + 1000 - now) / 1000));
  if (!input.recovery) return { refuse: 'wait', retryAfter };
  return { refuse: 'nonce', retryAfter };
}
