import type { DPoPErrorCode } from '../errors/dpop.errors.js';

/**
 * What happened to one request at the DPoP guard:
 * - `accepted`: a proof was sent and verified (its jti recorded);
 * - `no-proof`: the route let the request through without a proof (optional mode);
 * - `refused`: the request was refused with `code` (401 / 400);
 * - `store-unavailable`: the replay store failed: 503 (a token-binding resolver that is down
 *   is a `refused` with `ERR_DPOP_TOKEN_BINDING_UNAVAILABLE`);
 * - `nonce-issued`: a fresh server nonce went out (a `use_dpop_nonce` challenge or a rotation).
 */
export type DPoPEventType =
  'accepted' | 'no-proof' | 'refused' | 'store-unavailable' | 'nonce-issued';

/**
 * One verification outcome. It never carries the access token, the proof or any claim but the
 * key thumbprint: safe to log and to label metrics with (`code`, `route` and `method` have a
 * bounded set of values; `jkt` and `clientAddress` do not, so keep them out of metric labels).
 */
export interface DPoPEvent {
  readonly type: DPoPEventType;
  /** The refusal's stable code (`refused`, `store-unavailable`), else `undefined`. */
  readonly code: DPoPErrorCode | undefined;
  /** The HTTP status the refusal is answered with, else `undefined`. */
  readonly status: number | undefined;
  /**
   * RFC 7638 thumbprint of the proof key. On `accepted` it is the verified key; on a refusal it
   * is the key the proof names (unproven when the refusal is about the signature or the header),
   * or `undefined` when no key could be read.
   */
  readonly jkt: string | undefined;
  /** HTTP method. */
  readonly method: string;
  /**
   * The route pattern when the framework knows it (Express `req.route.path`, Fastify
   * `routeOptions.url`, e.g. `/agents/:id/heartbeat`), else the request path without query.
   */
  readonly route: string;
  /** `req.ip` (Express's trust-proxy aware address) or the socket's remote address. */
  readonly clientAddress: string | undefined;
  /** Time spent in the guard for this decision, in milliseconds (0 for `nonce-issued`). */
  readonly latencyMs: number;
  /** The controller class and handler, e.g. `AgentsController.heartbeat`, when known. */
  readonly handler: string | undefined;
}

/**
 * Receives every {@link DPoPEvent}. Called synchronously on the request path: do cheap work
 * (count, record, enqueue), never block. An exception thrown here is logged and swallowed; it
 * never changes the guard's decision.
 *
 * @example
 * ```ts
 * DPoPModule.forRoot({ listeners: [{ onDPoPEvent: (e) => e.type === 'refused' && audit(e) }] })
 * ```
 */
export interface DPoPEventListener {
  onDPoPEvent(event: DPoPEvent): void;
}
