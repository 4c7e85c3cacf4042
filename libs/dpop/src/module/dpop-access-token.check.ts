import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import type { ResolvedDPoPOptions } from '../options/dpop-module-options.interface.js';
import { dpopRoutePolicy } from '../guard/dpop-route-policy.util.js';

/**
 * Start-up checks of the routes against access-token verification:
 * - `@RequiredScopes()` without the `accessToken` option cannot be checked: the start-up fails.
 * - `@DPoPBound()` routes without it read `cnf.jkt` from a token nobody here verified: a
 *   warning, since the application's own auth may verify it (as before this option existed).
 */
@Injectable()
export class DPoPAccessTokenCheck implements OnModuleInit {
  constructor(
    private readonly modules: ModulesContainer,
    private readonly reflector: Reflector,
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly options: ResolvedDPoPOptions,
  ) {}

  onModuleInit(): void {
    if (!this.options.enabled || this.options.accessToken !== undefined) return;
    const bound: string[] = [];
    const scoped: string[] = [];
    const scanner = new MetadataScanner();
    for (const module of this.modules.values()) {
      for (const wrapper of module.controllers.values()) {
        const type = wrapper.metatype;
        if (typeof type !== 'function') continue;
        const prototype = type.prototype as Record<string, unknown>;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const method = prototype[name];
          if (typeof method !== 'function') continue;
          const policy = dpopRoutePolicy(this.reflector, method, type);
          if (policy.skip) continue;
          if (policy.scopes !== undefined) scoped.push(`${type.name}.${name}`);
          if (policy.bound) bound.push(`${type.name}.${name}`);
        }
      }
    }
    if (scoped.length > 0) {
      throw new Error(
        `DPoP: @RequiredScopes() on ${scoped.join(', ')} needs verified access tokens: set the accessToken option of DPoPModule`,
      );
    }
    if (bound.length > 0 && this.options.resolveTokenBinding === undefined) {
      new Logger('DPoPModule').warn(
        `@DPoPBound() routes (${bound.slice(0, 5).join(', ')}${bound.length > 5 ? ', …' : ''}) read cnf.jkt from access tokens that DPoPGuard does not verify: set the accessToken option, or make sure your own auth verifies them`,
      );
    }
  }
}
