import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { dpopRoutePolicy, type DPoPRoutePolicy } from './dpop-route-policy.util.js';

/**
 * The route decorators of each handler, read once: metadata is fixed at start-up, so there is no
 * reason to walk it on every request. Keyed by class, then handler, since an inherited method
 * serves controllers with other decorators.
 */
export class RoutePolicyCache {
  private readonly byClass = new WeakMap<object, WeakMap<object, DPoPRoutePolicy>>();

  constructor(
    private readonly reflector: Reflector,
    /** The app's own "public" metadata keys (the `publicRouteMetadata` option). */
    private readonly publicRouteMetadata: readonly (string | symbol)[] = [],
  ) {}

  /** The policy of the handler `context` runs (see {@link dpopRoutePolicy}). */
  of(context: ExecutionContext): DPoPRoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.byClass.get(controller);
    if (byHandler === undefined) this.byClass.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (policy === undefined) {
      policy = dpopRoutePolicy(this.reflector, handler, controller, this.publicRouteMetadata);
      byHandler.set(handler, policy);
    }
    return policy;
  }
}
