import { assertSupportedAlgorithms, type DPoPAlgorithm } from '../options/dpop.constants.js';
import { MAX_DPOP_WINDOW_SECONDS } from '../options/dpop-options.resolver.js';
import type { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';

/**
 * Per-route settings of the proof, taken by `@DPoPRequired()`, `@DPoPBound()` and
 * `@DPoPTokenEndpoint()` (as `@Throttle()` takes per-route limits). On a method and its class,
 * each setting of the method wins over the class's. Durations in seconds.
 */
export interface DPoPRouteOptions {
  /** Proof `alg`s accepted on this route instead of the module's `algorithms`. */
  algorithms?: DPoPAlgorithm[];
  /** The oldest `iat` accepted on this route, instead of the module's `proofTtl`. */
  proofTtl?: number;
  /** How far in the future `iat` may be on this route, instead of the module's `clockSkew`. */
  clockSkew?: number;
  /**
   * Server nonces (RFC 9449 §8, §9) on this route, whatever the module requires elsewhere.
   * `true`: every proof on this route must carry a current server nonce (e.g. only the token
   * endpoint, or one sensitive route), answered with the same challenge as module-wide nonces.
   * It needs the module's nonce issuer: `nonce: { secret, routesOnly: true }` (nonces on such
   * routes only) or module-wide nonces; without one the start-up fails, naming the route.
   * `false`: no server nonce on this route although the module requires them (e.g. a route for
   * clients that cannot do the round trip).
   */
  nonce?: boolean;
}

const ROUTE_OPTION_NAMES = new Set(['algorithms', 'proofTtl', 'clockSkew', 'nonce']);

/**
 * Checks route settings when the decorator is applied (when the controller's file loads), with
 * a message naming the setting. Returns them frozen: the guard keys its per-route verifiers by
 * this object.
 * @throws {Error} for an unknown or bad setting
 */
export function checkedRouteOptions(
  options: DPoPRouteOptions,
  decorator: string,
): Readonly<DPoPRouteOptions> {
  const label = `${decorator}: DPoP route option`;
  for (const key of Object.keys(options)) {
    if (!ROUTE_OPTION_NAMES.has(key)) {
      throw new Error(`${label} ${key} is unknown (${[...ROUTE_OPTION_NAMES].join(', ')})`);
    }
  }
  if (options.algorithms !== undefined) {
    if (!Array.isArray(options.algorithms)) {
      throw new Error(`${label} algorithms must be an array`);
    }
    assertSupportedAlgorithms(options.algorithms, `${label} algorithms`);
  }
  for (const name of ['proofTtl', 'clockSkew'] as const) {
    const value = options[name];
    if (
      value !== undefined &&
      !(typeof value === 'number' && value > 0 && value <= MAX_DPOP_WINDOW_SECONDS)
    ) {
      throw new Error(
        `${label} ${name} must be a number of seconds above 0 and at most ${MAX_DPOP_WINDOW_SECONDS}, got ${String(value)}`,
      );
    }
  }
  if (options.nonce !== undefined && typeof options.nonce !== 'boolean') {
    throw new Error(`${label} nonce must be true or false, got ${String(options.nonce)}`);
  }
  return Object.freeze({
    ...options,
    ...(options.algorithms && { algorithms: [...options.algorithms] }),
  });
}

/**
 * The module's verifier, or a route's own when the route has settings of its own: derived from
 * the module's (same store, clock, limits, nonce issuer) at the route's first request, then
 * kept, keyed by the route's settings object. A route with `nonce: true` and no nonce issuer
 * throws (a plain `Error`, never a pass without the nonce); `DPoPModule` refuses to start then.
 */
export class RouteVerifiers {
  private readonly byOptions = new WeakMap<object, DPoPProofVerifier>();

  constructor(private readonly base: DPoPProofVerifier) {}

  for(options: Readonly<DPoPRouteOptions> | undefined): DPoPProofVerifier {
    if (options === undefined) return this.base;
    let verifier = this.byOptions.get(options);
    if (verifier === undefined) {
      verifier = this.base.derive(options);
      this.byOptions.set(options, verifier);
    }
    return verifier;
  }
}
