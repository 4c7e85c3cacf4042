/** Longest token that gets an entry (as the binding cache: see `MAX_CACHED_TOKEN_LENGTH`). */
const MAX_TOKEN_LENGTH = 16_383;

/** One cached answer and the time (ms since the epoch) after which it is no longer used. */
interface Entry<V> {
  readonly token: string;
  readonly value: V;
  readonly until: number;
}

/**
 * A bounded LRU of verification results keyed by the exact token string, each with an expiry:
 * a reused token costs a map lookup instead of a signature (or an introspection round trip).
 * Entries never outlive the time given (the token's `exp`); the oldest go first once either the
 * entry or the character limit would be passed. The newest entry is compared first, because
 * a client sends one token request after request.
 */
export class AccessTokenClaimsCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private newest: Entry<V> | undefined;
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number = maxEntries * 2048,
  ) {}

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** The value cached for `token`, unless none or it expired at `now`. */
  get(token: string, now: number): V | undefined {
    let entry = this.newest;
    if (entry === undefined || entry.token !== token) {
      entry = this.entries.get(token);
      if (entry === undefined) return undefined;
      this.entries.delete(token);
      this.entries.set(entry.token, entry);
      this.newest = entry;
    }
    if (now >= entry.until) {
      this.delete(entry);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers `value` for `token` until `until` (ms); a token too long is not kept. */
  set(token: string, value: V, until: number): void {
    if (token.length > MAX_TOKEN_LENGTH || this.maxEntries <= 0) return;
    const old = this.entries.get(token);
    if (old !== undefined) this.delete(old);
    // Its own copy: a slice of the Authorization header would keep the whole header alive.
    const entry: Entry<V> = { token: ` ${token}`.slice(1), value, until };
    this.entries.set(entry.token, entry);
    this.chars += entry.token.length;
    this.newest = entry;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.values().next().value as Entry<V>;
      this.delete(oldest);
    }
  }

  private delete(entry: Entry<V>): void {
    if (this.entries.get(entry.token) !== entry) return;
    this.entries.delete(entry.token);
    this.chars -= entry.token.length;
    if (this.newest === entry) this.newest = undefined;
  }
}
