import { DPoPError } from '../errors/dpop.errors.js';
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';

/**
 * The `proofBudget` option: how many new jtis a client may make the replay store keep, for
 * proofs that do not come with an access token the library verified (`accessToken` option).
 * Anyone can sign valid proofs with keys of their own, as fast as the server checks signatures,
 * and every one of them is recorded before the application authenticates anything: without a
 * budget one client fills the store (the memory store then refuses everyone with 503; Redis
 * grows until `maxmemory`, then every write fails). Past its budget a client gets 429 with
 * `Retry-After` (`ERR_DPOP_RATE_LIMITED`), others go on.
 *
 * Counted in each instance's memory, never in the store: no second round trip per proof. With
 * `n` instances behind a balancer a client may get up to `n` times the budget.
 */
export interface DPoPProofBudgetOptions {
  /** New proofs one client address may have recorded per `interval`. Default 10,000. */
  perClient?: number;
  /** New proofs one proof key (`jkt`) may have recorded per `interval`. Default 10,000. */
  perKey?: number;
  /** The budget's window, in seconds. Default 60. */
  interval?: number;
  /**
   * Most counted jtis alive in the replay store at once (from this instance), whoever made
   * them: past it every counted proof gets 429 until some expire, while proofs with a verified
   * token go on (capacity reserved for them). Default: no such cap (the store's own bound).
   */
  maxLive?: number;
  /**
   * Most clients and keys tracked at once (about 100 bytes each). When that many are inside
   * their window, a new one is refused (429, fail closed) until the oldest window ends.
   * Default 100,000.
   */
  maxTracked?: number;
  /**
   * Who the client is. Default: `request.ip` (Express and Fastify, which honour their own
   * trust-proxy settings), else the socket's address; IPv6 addresses by their /64 (what one
   * subscriber gets). `undefined`: counted under one shared "unknown" client.
   */
  clientKey?: (request: DPoPHttpRequest) => string | undefined;
}

/** The defaults of {@link DPoPProofBudgetOptions}. */
export const PROOF_BUDGET_DEFAULTS = {
  perClient: 10_000,
  perKey: 10_000,
  interval: 60,
  maxTracked: 100_000,
} as const;

interface Window {
  count: number;
  /** When this window ends (ms). */
  resetAt: number;
}

/**
 * Fixed-window counters of new proofs by client address and by proof key, and a count of the
 * counted jtis still alive in the replay store (one slot per second of the replay window). All
 * in process memory, bounded (`maxTracked`); O(1) per proof.
 */
export class ProofBudget {
  private readonly perClient: number;
  private readonly perKey: number;
  private readonly intervalMs: number;
  private readonly maxLive: number;
  private readonly maxTracked: number;
  private readonly clientKeyOf: (request: DPoPHttpRequest) => string | undefined;
  /** `c <address>` and `k <jkt>` → its window; insertion order is window order (same length). */
  private readonly windows = new Map<string, Window>();
  /** Counted jtis recorded in each second of the replay window (a ring), and their sum. */
  private readonly slots: Uint32Array;
  private slotSecond = 0;
  private live = 0;

  constructor(
    options: DPoPProofBudgetOptions,
    /** How long the store keeps a jti (the verifier's `replayWindowMs`). */
    replayWindowMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.perClient = positive(options.perClient, PROOF_BUDGET_DEFAULTS.perClient, 'perClient');
    this.perKey = positive(options.perKey, PROOF_BUDGET_DEFAULTS.perKey, 'perKey');
    this.intervalMs = positive(options.interval, PROOF_BUDGET_DEFAULTS.interval, 'interval') * 1000;
    this.maxLive =
      options.maxLive === undefined ? Infinity : positive(options.maxLive, 0, 'maxLive');
    this.maxTracked = positive(options.maxTracked, PROOF_BUDGET_DEFAULTS.maxTracked, 'maxTracked');
    this.clientKeyOf = options.clientKey ?? defaultClientKey;
    this.slots = new Uint32Array(Math.ceil(replayWindowMs / 1000) + 1);
  }

  /**
   * Takes one new proof from the budgets of the request's client and of `jkt`.
   * @throws {DPoPError} `ERR_DPOP_RATE_LIMITED` (429) with `retryAfter`, taking nothing
   */
  take(request: DPoPHttpRequest, jkt: string): void {
    const now = this.clock();
    this.advance(now);
    if (this.live >= this.maxLive) {
      throw limited(
        'Too many new DPoP proofs are being recorded; try again later',
        this.slotWait(),
      );
    }
    let client: string | undefined;
    try {
      client = this.clientKeyOf(request);
    } catch {
      client = undefined;
    }
    // The client first: a flooder with a fresh key per proof is stopped before any key is tracked.
    const byClient = this.window('c ' + (client ?? 'unknown'), now);
    if (byClient.count >= this.perClient) throw this.over(byClient, now, 'this client');
    const byKey = this.window('k ' + jkt, now);
    if (byKey.count >= this.perKey) throw this.over(byKey, now, 'this key');
    byClient.count++;
    byKey.count++;
    this.slots[this.slotSecond % this.slots.length]!++;
    this.live++;
  }

  /** Counted jtis alive in the store (from this instance), for metrics and tests. */
  get liveCount(): number {
    this.advance(this.clock());
    return this.live;
  }

  /** Clients and keys tracked now. */
  get trackedCount(): number {
    return this.windows.size;
  }

  /** The window of `id`, a new one when it has none or its last one ended. */
  private window(id: string, now: number): Window {
    const current = this.windows.get(id);
    if (current !== undefined && current.resetAt > now) return current;
    if (current !== undefined) this.windows.delete(id);
    if (this.windows.size >= this.maxTracked) this.sweep(now);
    if (this.windows.size >= this.maxTracked) {
      const oldest = this.windows.values().next().value!;
      throw limited(
        'Too many DPoP clients at once; try again later',
        (oldest.resetAt - now) / 1000,
      );
    }
    const fresh = { count: 0, resetAt: now + this.intervalMs };
    this.windows.set(id, fresh);
    return fresh;
  }

  /** Drops ended windows from the front (insertion order is end order). */
  private sweep(now: number): void {
    for (const [id, window] of this.windows) {
      if (window.resetAt > now) return;
      this.windows.delete(id);
    }
  }

  private over(window: Window, now: number, who: string): DPoPError {
    return limited(
      `Too many new DPoP proofs from ${who}; try again later`,
      (window.resetAt - now) / 1000,
    );
  }

  /** Moves the ring to `now`, forgetting the seconds that left the replay window. */
  private advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second <= this.slotSecond) return;
    const steps = Math.min(second - this.slotSecond, this.slots.length);
    for (let i = 1; i <= steps; i++) {
      const slot = (this.slotSecond + i) % this.slots.length;
      this.live -= this.slots[slot]!;
      this.slots[slot] = 0;
    }
    this.slotSecond = second;
  }

  /** Seconds until the oldest counted jtis leave the replay window. */
  private slotWait(): number {
    for (let i = 1; i <= this.slots.length; i++) {
      if (this.slots[(this.slotSecond + i) % this.slots.length]! > 0) return i;
    }
    return 1;
  }
}

function limited(message: string, retryAfter: number): DPoPError {
  return new DPoPError('ERR_DPOP_RATE_LIMITED', message, {
    retryAfter: Math.max(1, Math.ceil(retryAfter)),
  });
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`DPoP option proofBudget.${name} must be a positive whole number, got ${v}`);
  }
  return v;
}

/**
 * `request.ip` (Express, Fastify: after their trust-proxy rules), else the socket's address;
 * an IPv6 address by its /64, an IPv4-mapped one as IPv4.
 */
export function defaultClientKey(request: DPoPHttpRequest): string | undefined {
  const ip = typeof request.ip === 'string' ? request.ip : request.socket?.remoteAddress;
  if (ip === undefined || ip === '') return undefined;
  if (!ip.includes(':')) return ip;
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  return ipv6Prefix64(ip);
}

/** The first four groups of an IPv6 address (its /64), expanded, without a zone. */
function ipv6Prefix64(address: string): string {
  const bare = address.split('%')[0]!.toLowerCase();
  const [head = '', tail] = bare.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? front
      : [
          ...front,
          ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'),
          ...back,
        ];
  return groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')
    .concat('::/64');
}
