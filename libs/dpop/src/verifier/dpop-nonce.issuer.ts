import { createHmac, randomBytes } from 'node:crypto';

/** Options of {@link DPoPNonceIssuer}. */
export interface DPoPNonceOptions {
  /**
   * The shared secret nonces are derived from (at least 32 bytes, or a string of at least 32
   * characters). Every instance behind one load balancer must have the same secret, so that a
   * nonce handed out by one is accepted by all. Default: random per process (one instance only).
   */
  secret?: string | Uint8Array;
  /** How long one nonce is current, in seconds; the previous window's is accepted too. Default 60. */
  windowSeconds?: number;
  /**
   * In the module's `nonce` option only (the issuer ignores it): `true` requires nonces only on
   * routes that ask for them (`nonce: true` in their route settings), not module-wide
   * (`DPOP_NONCE_REQUIRED=routes`). Default `false`: every proof must carry one.
   */
  routesOnly?: boolean;
}

/** Fewest different characters (or bytes) a secret may have; random ones have far more. */
export const MIN_SECRET_VARIETY = 8;

/**
 * Why a secret is too uniform to be one, or `undefined` when it is not: white space only, or
 * fewer than {@link MIN_SECRET_VARIETY} different characters (`"a".repeat(32)`, 32 spaces,
 * `"abab…"`, a zeroed buffer). Long enough is not enough: such a value is a placeholder or a
 * mistake, and nonces made with it are predictable.
 */
export function lowVarietySecret(secret: string | Uint8Array): string | undefined {
  if (typeof secret === 'string' && secret.trim() === '') return 'is white space only';
  const symbols = typeof secret === 'string' ? [...secret] : [...secret];
  const different = new Set<string | number>(symbols).size;
  return different < MIN_SECRET_VARIETY
    ? `has only ${different} different ${typeof secret === 'string' ? 'characters' : 'bytes'} (at least ${MIN_SECRET_VARIETY} needed): use a random value, e.g. openssl rand -base64 32`
    : undefined;
}

/**
 * Server-provided DPoP nonces (RFC 9449 §8 and §9), stateless and shared by every instance
 * that holds the same secret: a nonce is `<window>.<HMAC-SHA256(secret, window)>`, where the
 * window is the current time divided by `windowSeconds`. The nonces of the current and the
 * previous window are valid, so a nonce lives between one and two windows, and clients are
 * never caught out at a rotation.
 *
 * Unpredictable without the secret, so a client can only learn one from a server response.
 * The MAC of a window is computed once and cached: checking a nonce is two string compares.
 */
export class DPoPNonceIssuer {
  private readonly secret: Uint8Array;
  private readonly windowMs: number;
  private cachedWindow = Number.NaN;
  private cachedCurrent = '';
  private cachedPrevious = '';
  /** True when no secret was given and a random one is in use (fine for one instance only). */
  readonly ephemeral: boolean;

  constructor(options: DPoPNonceOptions = {}) {
    if (options.secret === undefined) {
      this.secret = randomBytes(32);
      this.ephemeral = true;
    } else {
      this.secret =
        typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
      this.ephemeral = false;
      if (this.secret.length < 32) {
        throw new Error('DPoP nonce secret must be at least 32 bytes long');
      }
      const weak = lowVarietySecret(options.secret);
      if (weak !== undefined) throw new Error(`DPoP nonce secret ${weak}`);
    }
    const windowSeconds = options.windowSeconds ?? 60;
    if (!Number.isFinite(windowSeconds) || windowSeconds < 1) {
      throw new Error('DPoP nonce windowSeconds must be at least 1');
    }
    this.windowMs = windowSeconds * 1000;
  }

  /** The nonce to hand out now. */
  current(nowMs: number): string {
    this.refresh(nowMs);
    return this.cachedCurrent;
  }

  /** Whether `nonce` is the current or the previous window's nonce. */
  isValid(nonce: string | undefined, nowMs: number): boolean {
    if (nonce === undefined) return false;
    this.refresh(nowMs);
    return nonce === this.cachedCurrent || nonce === this.cachedPrevious;
  }

  private refresh(nowMs: number): void {
    const window = Math.floor(nowMs / this.windowMs);
    if (window === this.cachedWindow) return;
    this.cachedCurrent = this.derive(window);
    this.cachedPrevious = this.derive(window - 1);
    this.cachedWindow = window;
  }

  private derive(window: number): string {
    const id = window.toString(36);
    const mac = createHmac('sha256', this.secret).update(`dpop-nonce:${id}`).digest('base64url');
    return `${id}.${mac.slice(0, 32)}`;
  }
}
