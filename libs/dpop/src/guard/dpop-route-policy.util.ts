import type { Reflector } from '@nestjs/core';
import {
  DPOP_BOUND_KEY,
  DPOP_SCOPES_KEY,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
} from '../options/dpop.constants.js';

/** What the decorators say about one route (a controller method or a resolver). */
export interface DPoPRoutePolicy {
  readonly skip: boolean;
  readonly bound: boolean;
  readonly tokenEndpoint: boolean;
  /** Scopes the token must grant (`@RequiredScopes()` on the method and its class), or none. */
  readonly scopes: readonly string[] | undefined;
}

/**
 * The decorators of one handler and its class, as the guard applies them: a method's
 * `@SkipDPoP()` or `@DPoPBound()` wins over its class's, in both directions; both on one level,
 * bound (the stricter) wins. Shared by the guard and the start-up checks, so they agree.
 */
export function dpopRoutePolicy(
  reflector: Reflector,
  handler: Function,
  controller: Function,
): DPoPRoutePolicy {
  const on = (key: string, target: Function) => reflector.get(key, target) === true;
  const method = { skip: on(DPOP_SKIP_KEY, handler), bound: on(DPOP_BOUND_KEY, handler) };
  const level =
    method.skip || method.bound
      ? method
      : { skip: on(DPOP_SKIP_KEY, controller), bound: on(DPOP_BOUND_KEY, controller) };
  return {
    skip: level.skip && !level.bound,
    bound: level.bound,
    tokenEndpoint:
      reflector.getAllAndOverride<boolean>(DPOP_TOKEN_ENDPOINT_KEY, [handler, controller]) === true,
    scopes: requiredScopes(reflector, handler, controller),
  };
}

/** Every scope the method and its class require (both apply), or `undefined` when none. */
function requiredScopes(
  reflector: Reflector,
  handler: Function,
  controller: Function,
): readonly string[] | undefined {
  const scopes = reflector.getAllAndMerge<string[]>(DPOP_SCOPES_KEY, [handler, controller]);
  return scopes.length === 0 ? undefined : [...new Set(scopes)];
}
