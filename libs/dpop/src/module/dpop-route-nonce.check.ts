import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import type { ResolvedDPoPOptions } from '../options/dpop-module-options.interface.js';
import { dpopRoutePolicy } from '../guard/dpop-route-policy.util.js';

/**
 * Fails the start-up when a route requires server nonces (`nonce: true` in its settings) but the
 * module has no nonce issuer (no `nonce` option, or `nonce: false`): such a route would
 * otherwise fail every request, and it must never take proofs without a nonce. Found here, at
 * start-up, with every such route named, rather than at the route's first request.
 *
 * Looks at controllers and at other providers (GraphQL resolvers carry the same decorators).
 * Does nothing when DPoP is disabled or a nonce issuer is configured.
 */
@Injectable()
export class DPoPRouteNonceCheck implements OnModuleInit {
  constructor(
    private readonly modules: ModulesContainer,
    private readonly reflector: Reflector,
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly options: ResolvedDPoPOptions,
  ) {}

  onModuleInit(): void {
    const { enabled, nonces, routeNonces } = this.options;
    if (!enabled || nonces !== undefined || routeNonces !== undefined) return;
    const routes = this.routesRequiringNonces();
    if (routes.length === 0) return;
    throw new Error(
      `DPoP: ${routes.join(', ')} require server nonces (route option nonce: true), but no ` +
        `nonce issuer is configured: set the nonce option of DPoPModule, nonce: { secret, ` +
        `routesOnly: true } for these routes only (DPOP_NONCE_REQUIRED=routes with ` +
        `DPOP_NONCE_SECRET), or remove nonce: true`,
    );
  }

  /** `Class.method` of every guarded handler whose settings say `nonce: true`. */
  private routesRequiringNonces(): string[] {
    const scanner = new MetadataScanner();
    const found: string[] = [];
    const seen = new Set<Function>();
    for (const module of this.modules.values()) {
      const types = [
        ...[...module.controllers.values()].map((wrapper) => wrapper.metatype),
        // Resolvers and other providers, by their instance's class (a factory's metatype is
        // the factory function).
        ...[...module.providers.values()].map((wrapper) => {
          const instance: unknown = wrapper.instance;
          return typeof instance === 'object' && instance !== null
            ? instance.constructor
            : undefined;
        }),
      ];
      for (const type of types) {
        if (typeof type !== 'function' || seen.has(type)) continue;
        seen.add(type);
        const prototype = type.prototype as Record<string, unknown> | undefined;
        if (prototype === undefined || prototype === Object.prototype) continue;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const method = prototype[name];
          if (typeof method !== 'function') continue;
          const policy = dpopRoutePolicy(
            this.reflector,
            method,
            type,
            this.options.publicRouteMetadata,
          );
          if (!policy.skip && policy.options?.nonce === true) found.push(`${type.name}.${name}`);
        }
      }
    }
    return found;
  }
}
