import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How long a recovery nonce is accepted after it was handed out, in milliseconds: as long as a
 * module nonce lives at most (two windows of 60 s by default).
 */
export const RECOVERY_NONCE_MAX_AGE_MS = 120_000;

/** `<mint time in ms, base 36>.<22 characters of HMAC-SHA256>`: only NQCHARs (RFC 9449 §8). */
const RECOVERY_NONCE = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/;

/**
 * Server nonces minted by a replay store after it lost its history. A nonce names the time it
 * was handed out (Redis' clock) and is MACed, together with the epoch it was handed out in, with
 * a secret every instance reads from Redis: any instance in the same epoch can tell that a proof
 * carrying it was made after the loss that began the epoch, hence cannot have been used before
 * it; after the next loss (a new epoch) it is worth nothing, whatever its time says.
 * @internal
 */
export class RecoveryNonces {
  constructor(private readonly secret: Uint8Array) {}

  /** A nonce handed out at `mintedAt` (ms since 1970) in `epoch` (a digest of the markers). */
  mint(mintedAt: number, epoch: string): string {
    const time = Math.floor(mintedAt).toString(36);
    return `${time}.${this.mac(time, epoch)}`;
  }

  /**
   * When `nonce` was handed out (ms), if it is one of ours, handed out in `epoch`, not from the
   * future and not older than {@link RECOVERY_NONCE_MAX_AGE_MS}; else `undefined`.
   */
  mintedAt(nonce: string, now: number, epoch: string): number | undefined {
    const match = RECOVERY_NONCE.exec(nonce);
    if (match === null) return undefined;
    const at = parseInt(match[1]!, 36);
    if (!(at <= now + 1000 && now - at <= RECOVERY_NONCE_MAX_AGE_MS)) return undefined;
    const expected = Buffer.from(this.mac(match[1]!, epoch), 'latin1');
    return timingSafeEqual(expected, Buffer.from(match[2]!, 'latin1')) ? at : undefined;
  }

  private mac(time: string, epoch: string): string {
    return createHmac('sha256', this.secret)
      .update(`nest-dpop:recovery-nonce:${time}:${epoch}`)
      .digest('base64url')
      .slice(0, 22);
  }
}
