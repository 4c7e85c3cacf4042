import { isValidNonce } from '../proof/dpop-generator.js';

/** The `DPoP-Nonce` response header (RFC 9449 §8). */
export const DPOP_NONCE_HEADER = 'DPoP-Nonce';

/**
 * The latest `DPoP-Nonce` each server origin gave (RFC 9449 §8, §9): a server may hand out a
 * new nonce on any response, and expects it in the next proof sent to it. Share one store
 * between clients that talk to the same servers.
 */
export class DPoPNonceStore {
  readonly #nonces = new Map<string, string>();

  constructor(
    /** At most this many origins are remembered (the oldest is forgotten first). */
    private readonly maxOrigins = 100,
  ) {}

  /** The nonce to put in the next proof for `url`'s origin, if the server gave one. */
  get(url: string | URL): string | undefined {
    const origin = originOf(url);
    return origin === undefined ? undefined : this.#nonces.get(origin);
  }

  /** Remembers `nonce` for `url`'s origin. Values that are not RFC 9449 nonces are ignored. */
  set(url: string | URL, nonce: string): void {
    const origin = originOf(url);
    if (origin === undefined || !isValidNonce(nonce)) return;
    this.#nonces.delete(origin);
    this.#nonces.set(origin, nonce);
    if (this.#nonces.size > this.maxOrigins) {
      this.#nonces.delete(this.#nonces.keys().next().value as string);
    }
  }

  /**
   * Takes the `DPoP-Nonce` header of a response from `url`, if any.
   * @returns the new nonce, or `undefined` when the response carried none (or an invalid one)
   */
  update(url: string | URL, response: { headers: Headers }): string | undefined {
    const nonce = response.headers.get(DPOP_NONCE_HEADER)?.trim();
    if (nonce === undefined || !isValidNonce(nonce)) return undefined;
    this.set(url, nonce);
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

function originOf(url: string | URL): string | undefined {
  const parsed = URL.parse(String(url));
  return parsed === null || parsed.origin === 'null' ? undefined : parsed.origin;
}
