import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type ExecutionContext,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import type { DPoPError } from '../errors/dpop.errors.js';
import { dpopStatusOf } from '../http/dpop-http.mapping.js';
import type { DPoPEvent, DPoPEventListener, DPoPEventType } from './dpop-events.interface.js';
import type {
  DPoPHttpRequest,
  ResolvedDPoPOptions,
} from '../options/dpop-module-options.interface.js';
import type { VerifiedDPoPProof } from '../verifier/dpop-proof.verifier.js';

/** How long refusals of one code are counted before the next summary line (60 s). */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Stands in for the request of a context without one (rpc, ws). */
const NO_REQUEST: DPoPHttpRequest = { headers: {} };

/**
 * The guard's outcomes, handed to every {@link DPoPEventListener}: those given as
 * `forRoot({ listeners })` and those that {@link subscribe} (e.g. a provider of your own, in its
 * `onModuleInit`). Refusals are also logged at debug level through Nest's `Logger` (context
 * `DPoPGuard`) unless `logRefusals: false`: the first of each code per minute, then a count per
 * code (`logRefusals: 'each'` logs every one).
 *
 * Costs nothing when unused: with no listener the guard checks one boolean per request and
 * builds no event, reads no clock.
 *
 * @example
 * ```ts
 * @Injectable()
 * class Audit implements OnModuleInit, DPoPEventListener {
 *   constructor(private readonly events: DPoPEvents) {}
 *   onModuleInit() { this.events.subscribe(this); }
 *   onDPoPEvent(event: DPoPEvent) { if (event.type === 'refused') console.log(event.code); }
 * }
 * ```
 */
@Injectable()
export class DPoPEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('DPoPGuard');
  private listeners: readonly DPoPEventListener[];
  private readonly logRefusals: boolean | 'each';
  private readonly clock: () => number;
  /** Refusals by code since {@link windowStart} (summarised mode). */
  private readonly counts = new Map<string, number>();
  private windowStart = 0;
  /** Someone listens: every outcome is reported. */
  private listening: boolean;

  constructor(@Inject(DPOP_RESOLVED_OPTIONS) options: ResolvedDPoPOptions) {
    this.listeners = [...(options.listeners ?? [])];
    this.logRefusals = options.logRefusals ?? true;
    this.clock = options.clock ?? Date.now;
    this.listening = this.listeners.length > 0;
  }

  /** Whether accepted requests are reported (some listener is registered). */
  get active(): boolean {
    return this.listening;
  }

  /**
   * Adds a listener.
   * @returns a function that removes it again
   */
  subscribe(listener: DPoPEventListener): () => void {
    if (typeof listener?.onDPoPEvent !== 'function') {
      throw new TypeError('A DPoP event listener needs an onDPoPEvent method');
    }
    this.listeners = [...this.listeners, listener];
    this.listening = true;
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
      this.listening = this.listeners.length > 0;
    };
  }

  /** A start time for {@link DPoPEvent.latencyMs}; `0` (no clock read) when nobody listens. */
  start(): number {
    return this.listening ? performance.now() : 0;
  }

  /** A proof verified and its jti recorded. */
  accepted(
    context: ExecutionContext | undefined,
    request: DPoPHttpRequest,
    proof: VerifiedDPoPProof,
    started: number,
  ): void {
    if (!this.listening) return;
    this.emit(this.event('accepted', context, request, started, undefined, proof.jkt));
  }

  /** The route let the request through without a proof. */
  passed(context: ExecutionContext | undefined, request: DPoPHttpRequest, started: number): void {
    if (!this.listening) return;
    this.emit(this.event('no-proof', context, request, started, undefined, undefined));
  }

  /** The request is refused with `error` (a store failure is reported as `store-unavailable`). */
  refused(
    context: ExecutionContext | undefined,
    request: DPoPHttpRequest | undefined,
    error: DPoPError,
    started: number,
  ): void {
    // Nothing is built unless someone reads it (a listener, or a logger showing debug lines).
    const log = this.logRefusals && Logger.isLevelEnabled('debug');
    if (!this.listening && !log) return;
    const type: DPoPEventType =
      error.code === 'ERR_DPOP_STORE_UNAVAILABLE' ? 'store-unavailable' : 'refused';
    // rpc / ws contexts have no HTTP request: the event says so with empty request fields.
    const from = request ?? NO_REQUEST;
    const event = this.event(type, context, from, started, error, claimedJkt(from));
    if (log) this.log(event);
    if (this.listening) this.emit(event);
    if (error.code === 'ERR_DPOP_USE_NONCE') this.nonceIssued(context, from);
  }

  /** A fresh server nonce went out with the response. */
  nonceIssued(context: ExecutionContext | undefined, request: DPoPHttpRequest): void {
    if (!this.listening) return;
    this.emit(this.event('nonce-issued', context, request, 0, undefined, undefined));
  }

  /** The summary of the refusals counted so far, if any went unlogged (at shutdown). */
  onApplicationShutdown(): void {
    this.summarise(this.clock());
  }

  /**
   * One debug line per refusal with `logRefusals: 'each'`; by default the first refusal of each
   * code in an interval, then one line per interval with the count of each code: a polling
   * client without a proof must not write a line per request.
   */
  private log(event: DPoPEvent): void {
    const line = `DPoP ${event.type} ${event.code} jkt=${event.jkt ?? '-'} ${event.method} ${event.route} from ${event.clientAddress ?? '-'}`;
    if (this.logRefusals === 'each') return this.logger.debug(line);
    const now = this.clock();
    if (now - this.windowStart >= REFUSAL_LOG_INTERVAL_MS) this.summarise(now);
    const code = event.code ?? '-';
    const count = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, count);
    if (count === 1) {
      this.logger.debug(`${line} (more ${code} in the next minute are counted, not logged)`);
    }
  }

  /** Logs the counts of the interval that ends at `now` (when more than one line's worth), resets. */
  private summarise(now: number): void {
    const unlogged = [...this.counts.values()].some((count) => count > 1);
    if (unlogged) {
      const seconds = Math.max(1, Math.round((now - this.windowStart) / 1000));
      const counts = [...this.counts].map(([code, count]) => `${code} ${count}`).join(', ');
      this.logger.debug(`DPoP refusals in the last ${seconds} s: ${counts}`);
    }
    this.counts.clear();
    this.windowStart = now;
  }

  private event(
    type: DPoPEventType,
    context: ExecutionContext | undefined,
    request: DPoPHttpRequest,
    started: number,
    error: DPoPError | undefined,
    jkt: string | undefined,
  ): DPoPEvent {
    return {
      type,
      code: error?.code,
      status: error === undefined ? undefined : dpopStatusOf(error.code),
      jkt,
      method: typeof request.method === 'string' ? request.method : '',
      route: routeOf(request),
      clientAddress: clientAddressOf(request),
      latencyMs: started === 0 ? 0 : performance.now() - started,
      handler: handlerOf(context),
    };
  }

  private emit(event: DPoPEvent): void {
    for (const listener of this.listeners) {
      try {
        listener.onDPoPEvent(event);
      } catch (error) {
        // A broken listener must not turn a decision into a 500, nor change it.
        this.logger.error(`DPoP event listener failed: ${String(error)}`);
      }
    }
  }
}

function routeOf(request: DPoPHttpRequest): string {
  const expressRoute = (request.route as { path?: unknown } | undefined)?.path;
  if (typeof expressRoute === 'string') return expressRoute;
  const fastifyRoute = (request.routeOptions as { url?: unknown } | undefined)?.url;
  if (typeof fastifyRoute === 'string') return fastifyRoute;
  const target = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  if (typeof target !== 'string') return '';
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

function clientAddressOf(request: DPoPHttpRequest): string | undefined {
  if (typeof request.ip === 'string') return request.ip;
  const address = request.socket?.remoteAddress;
  return typeof address === 'string' ? address : undefined;
}

function handlerOf(context: ExecutionContext | undefined): string | undefined {
  if (context === undefined) return undefined;
  try {
    return `${context.getClass().name}.${context.getHandler().name}`;
  } catch {
    return undefined;
  }
}

/**
 * The RFC 7638 thumbprint of the key a proof names in its header, for the record of a refusal.
 * Read only when someone listens; any shape it cannot read gives `undefined`.
 */
export function claimedJkt(request: DPoPHttpRequest): string | undefined {
  const header = request.headers.dpop;
  if (typeof header !== 'string' || header.length > 16_384) return undefined;
  const dot = header.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header.slice(0, dot), 'base64url').toString());
    const jwk = (parsed as { jwk?: Record<string, unknown> } | null)?.jwk;
    if (typeof jwk !== 'object' || jwk === null) return undefined;
    const members =
      jwk.kty === 'OKP'
        ? ['crv', 'kty', 'x']
        : jwk.kty === 'EC'
          ? ['crv', 'kty', 'x', 'y']
          : jwk.kty === 'RSA'
            ? ['e', 'kty', 'n']
            : undefined;
    if (members === undefined || !members.every((m) => typeof jwk[m] === 'string')) {
      return undefined;
    }
    const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
    return createHash('sha256').update(canonical).digest('base64url');
  } catch {
    return undefined;
  }
}
