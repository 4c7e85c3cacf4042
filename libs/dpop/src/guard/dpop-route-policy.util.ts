import type { Reflector } from '@nestjs/core';
import {
  DPOP_BOUND_KEY,
  DPOP_REQUIRED_KEY,
  DPOP_ROUTE_OPTIONS_KEY,
  DPOP_SCOPES_KEY,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
} from '../options/dpop.constants.js';
import type { DPoPRouteOptions } from '../request/dpop-route.options.js';

/** What the decorators say about one route (a controller method or a resolver). */
export interface DPoPRoutePolicy {
  readonly skip: boolean;
  readonly bound: boolean;
  readonly tokenEndpoint: boolean;
  /**
   * A proof is required (`true`) or not (`false`) whatever the `required` option says
   * (`@DPoPRequired()`, `@DPoPTokenEndpoint()`); `undefined`: as the option says.
   */
  readonly required: boolean | undefined;
  /** The route's own proof settings, method over class per setting; one object per route. */
  readonly options: Readonly<DPoPRouteOptions> | undefined;
  /** Scopes the token must grant (`@RequiredScopes()` on the method and its class), or none. */
  readonly scopes: readonly string[] | undefined;
}

/**
 * The decorators of one handler and its class, as the guard applies them: a method that says
 * anything about DPoP (`@SkipDPoP()`, `@DPoPBound()`, `@DPoPRequired()`, `@DPoPTokenEndpoint()`)
 * decides skipping and binding, else its class does; a demand (bound, required) on one level
 * wins over a skip on the same level. The app's own "public" metadata (`publicRouteMetadata`,
 * e.g. `IS_PUBLIC_KEY`) counts as `@SkipDPoP()` on its level. `required` and each route setting:
 * the method's over the class's. Shared by the guard and the start-up checks, so they agree.
 */
export function dpopRoutePolicy(
  reflector: Reflector,
  handler: Function,
  controller: Function,
  publicRouteMetadata: readonly (string | symbol)[] = [],
): DPoPRoutePolicy {
  const on = (key: string, target: Function) => reflector.get(key, target) === true;
  const publicOn = (target: Function) =>
    publicRouteMetadata.some((key) => Boolean(Reflect.getMetadata(key, target)));
  const levelOf = (target: Function) => ({
    skip: on(DPOP_SKIP_KEY, target) || publicOn(target),
    bound: on(DPOP_BOUND_KEY, target),
    demands:
      reflector.get<boolean | undefined>(DPOP_REQUIRED_KEY, target) === true ||
      on(DPOP_TOKEN_ENDPOINT_KEY, target),
  });
  const method = levelOf(handler);
  const level = method.skip || method.bound || method.demands ? method : levelOf(controller);
  const required = reflector.getAllAndOverride<boolean | undefined>(DPOP_REQUIRED_KEY, [
    handler,
    controller,
  ]);
  return {
    skip: level.skip && !level.bound && !level.demands,
    bound: level.bound,
    tokenEndpoint:
      reflector.getAllAndOverride<boolean>(DPOP_TOKEN_ENDPOINT_KEY, [handler, controller]) === true,
    required: typeof required === 'boolean' ? required : undefined,
    options: routeOptions(reflector, handler, controller),
    scopes: requiredScopes(reflector, handler, controller),
  };
}

/** The class's route settings overridden, setting by setting, by the method's; frozen. */
function routeOptions(
  reflector: Reflector,
  handler: Function,
  controller: Function,
): Readonly<DPoPRouteOptions> | undefined {
  const onMethod = reflector.get<DPoPRouteOptions | undefined>(DPOP_ROUTE_OPTIONS_KEY, handler);
  const onClass = reflector.get<DPoPRouteOptions | undefined>(DPOP_ROUTE_OPTIONS_KEY, controller);
  if (onClass === undefined) return onMethod;
  if (onMethod === undefined) return onClass;
  return Object.freeze({ ...onClass, ...onMethod });
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
