import { isValidNonce } from '../proof/dpop-generator.js';

/** The `DPoP-Nonce` response header (RFC 9449 §8). */
export const DPOP_NONCE_HEADER = 'DPoP-Nonce';

/**
 * Where a client keeps the latest `DPoP-Nonce` of each server origin (RFC 9449 §8, §9): a
 * server may hand out a new nonce on any response and expects it in the next proof sent to it.
 * Memory by default ({@link DPoPNonceStore}); a shared implementation (Redis, a database, a
 * worker's `BroadcastChannel`) lets many workers of one agent share each nonce, so that they do
 * not each pay a `use_dpop_nonce` round trip.
 *
 * Implementations keep the **newest** nonce per origin (RFC 9449 §8.2: a server that rotates
 * nonces accepts the latest): `set` replaces the stored nonce only when `receivedAt` is not
 * older than the stored one's, so that a slow worker's late write cannot bring back a nonce the
 * server has moved on from. They are bounded (entries per origin expire, or the oldest origin
 * is dropped). A store that fails (`get` or `set` rejects) does not fail the request: the
 * server asks for a nonce again.
 */
export interface DPoPNonceStorage {
  /** The newest nonce of `origin` (`https://api.example.com:8443`), if any. */
  get(origin: string): string | undefined | Promise<string | undefined>;
  /**
   * Records `nonce` for `origin`, received at `receivedAt` (milliseconds since the epoch), unless
   * a newer one is already stored.
   */
  set(origin: string, nonce: string, receivedAt: number): void | Promise<void>;
}

/**
 * The in-memory {@link DPoPNonceStorage}: the newest nonce of at most `maxOrigins` origins (the
 * least recently updated is forgotten first). Share one store between clients of one process
 * that talk to the same servers.
 */
export class DPoPNonceStore implements DPoPNonceStorage {
  readonly #nonces = new Map<string, { nonce: string; receivedAt: number }>();

  constructor(
    /** At most this many origins are remembered (the oldest is forgotten first). */
    private readonly maxOrigins = 100,
  ) {}

  /** The nonce to put in the next proof for `url`'s origin (a URL or an origin), if any. */
  get(url: string | URL): string | undefined {
    const origin = originOf(url);
    return origin === undefined ? undefined : this.#nonces.get(origin)?.nonce;
  }

  /**
   * Remembers `nonce` for `url`'s origin, unless the stored one was received later (newest
   * wins). Values that are not RFC 9449 nonces are ignored.
   */
  set(url: string | URL, nonce: string, receivedAt: number = Date.now()): void {
    const origin = originOf(url);
    if (origin === undefined || !isValidNonce(nonce)) return;
    const stored = this.#nonces.get(origin);
    if (stored !== undefined && stored.receivedAt > receivedAt) return;
    this.#nonces.delete(origin);
    this.#nonces.set(origin, { nonce, receivedAt });
    if (this.#nonces.size > this.maxOrigins) {
      this.#nonces.delete(this.#nonces.keys().next().value as string);
    }
  }

  /**
   * Takes the `DPoP-Nonce` header of a response from `url`, if any.
   * @returns the new nonce, or `undefined` when the response carried none (or an invalid one)
   */
  update(url: string | URL, response: { headers: Headers }): string | undefined {
    const nonce = nonceOf(response);
    if (nonce !== undefined) this.set(url, nonce);
    return nonce;
  }

  /** Forgets the nonce of `url`'s origin, or every nonce. */
  clear(url?: string | URL): void {
    if (url === undefined) this.#nonces.clear();
    else {
      const origin = originOf(url);
      if (origin !== undefined) this.#nonces.delete(origin);
    }
  }
}

/** The valid `DPoP-Nonce` of a response, if it has one. */
export function nonceOf(response: { headers: Headers }): string | undefined {
  const nonce = response.headers.get(DPOP_NONCE_HEADER)?.trim();
  return nonce !== undefined && isValidNonce(nonce) ? nonce : undefined;
}

/** The origin of a URL (`https://host:port`), or `undefined` for an opaque or invalid one. */
export function originOf(url: string | URL): string | undefined {
  const parsed = URL.parse(String(url));
  return parsed === null || parsed.origin === 'null' ? undefined : parsed.origin;
}
