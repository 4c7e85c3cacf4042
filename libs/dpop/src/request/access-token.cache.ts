/**
 * What the library derives from an access token string, remembered per exact string: its `ath`
 * digest and its `cnf.jkt`. Both are pure functions of the string, so a hit can only ever give
 * what computing them again would; a token whose claims changed is another string, and another
 * entry.
 */
export interface AccessTokenFacts {
  /** base64url(SHA-256(token)), once computed (RFC 9449 §4.2 `ath`). */
  ath?: string;
  /** `cnf.jkt` of the JWT payload once read; `null` when the token is not bound. */
  jkt?: string | null;
  /** `true` once the token passed `parseAuthorization`'s token68 check. */
  token68?: true;
}

/** Limits of an {@link AccessTokenCache}. */
export interface AccessTokenCacheLimits {
  /** Entries at most. */
  readonly maxEntries: number;
  /** Characters of token text held at most, all entries together. */
  readonly maxChars: number;
}

/**
 * Longest token that gets an entry. V8 hashes strings of up to 16,383 characters over their
 * content, longer ones by their length alone: as `Map` keys, many long tokens of one length
 * would share one bucket. Longer tokens are simply computed every time (`parseAuthorization`
 * refuses tokens over 16,384 characters anyway).
 */
export const MAX_CACHED_TOKEN_LENGTH = 16_383;

/**
 * The process-wide limits: 1,000 entries (as the proof-key cache), and 2 MiB of token text, so
 * that tokens of the longest kind (16 KB) get 128 entries and memory stays bounded whatever
 * clients send. Typical JWT access tokens (about 1 KB) fill the entry cap first.
 */
export const ACCESS_TOKEN_CACHE_LIMITS: AccessTokenCacheLimits = {
  maxEntries: 1000,
  maxChars: 2 * 1024 * 1024,
};

/**
 * A bounded LRU of {@link AccessTokenFacts} keyed by the exact token string. Agents send one
 * token request after request until it expires, so the newest entry is compared first (a string
 * comparison, not a hash of the whole token for a map lookup), as the verifier's header cache
 * does. Oldest entries go first once either limit would be passed.
 */
export class AccessTokenCache {
  /** Entries by token, oldest first (LRU by re-insertion). */
  private readonly entries = new Map<string, CacheEntry>();
  /** The last entry of `entries`, or none. */
  private newest: CacheEntry | undefined;
  private chars = 0;

  constructor(private readonly limits: AccessTokenCacheLimits = ACCESS_TOKEN_CACHE_LIMITS) {}

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** Characters of token text held now. */
  get heldChars(): number {
    return this.chars;
  }

  /**
   * The facts of `token` if it is the newest entry (one string comparison; nothing is added or
   * moved), else `undefined`: for a check that may be skipped, never for a new entry.
   */
  newestFactsOf(token: string): AccessTokenFacts | undefined {
    const newest = this.newest;
    return newest !== undefined && token === newest.token ? newest.facts : undefined;
  }

  /**
   * The facts entry of `token`, to read and fill in. A token never seen (or evicted since) gets
   * an empty one; a token too long to keep gets a fresh one that is not kept.
   */
  factsOf(token: string): AccessTokenFacts {
    const newest = this.newest;
    if (newest !== undefined && token === newest.token) return newest.facts;
    let entry = this.entries.get(token);
    if (entry !== undefined) {
      // Refresh its place in the LRU order.
      this.entries.delete(entry.token);
      this.entries.set(entry.token, entry);
    } else {
      if (
        token.length > MAX_CACHED_TOKEN_LENGTH ||
        token.length > this.limits.maxChars ||
        this.limits.maxEntries <= 0
      ) {
        return {};
      }
      entry = { token: ownCopy(token), facts: {} };
      this.entries.set(entry.token, entry);
      this.chars += entry.token.length;
      this.evict();
    }
    this.newest = entry;
    return entry.facts;
  }

  /** Drops the oldest entries until both limits hold (the newest one always stays). */
  private evict(): void {
    while (this.entries.size > this.limits.maxEntries || this.chars > this.limits.maxChars) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}

/** One cached token: its own copy of the string (see {@link ownCopy}) and its facts. */
interface CacheEntry {
  readonly token: string;
  readonly facts: AccessTokenFacts;
}

/**
 * A copy of `value` that owns its characters. A token is often a slice of a longer string (the
 * `Authorization` header, or whatever a caller cut it from), and V8 may keep a slice as a view
 * into its parent: kept as a key, it would keep the whole parent alive, past any limit. Slicing
 * a fresh concatenation copies the characters once (the concatenation is flattened into a new
 * string of one more character, which the result then views): a tenth of a JSON round trip.
 */
function ownCopy(value: string): string {
  return ` ${value}`.slice(1);
}

/** The cache the guard's binding reader and the verifier's `ath` check share. */
export const accessTokenCache = new AccessTokenCache();
