import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import type { ResolvedDPoPOptions } from '../options/dpop-module-options.interface.js';
import { dpopRoutePolicy } from '../guard/dpop-route-policy.util.js';

/*
 * `@nestjs/graphql` is optional: nothing is imported from it. These are its metadata keys and
 * its options token (graphql.constants.js of @nestjs/graphql 14), read as plain strings.
 */
/** Set (to `true`) on a method by `@ResolveField()`. */
const RESOLVER_PROPERTY_METADATA = 'graphql:resolve_property';
/** Set (to `true`) on a method by `@ResolveReference()` (federation). */
const RESOLVER_REFERENCE_METADATA = 'graphql:resolve_reference';
/** The field name `@ResolveField('name')` gave, else the method's name is the field's. */
const RESOLVER_NAME_METADATA = 'graphql:resolver_name';
/** The type `@Resolver('Agent')` / `@Resolver(() => Agent)` resolves. */
const RESOLVER_TYPE_METADATA = 'graphql:resolver_type';
/** Injection token of the options given to `GraphQLModule.forRoot()` / `forRootAsync()`. */
const GRAPHQL_MODULE_OPTIONS = 'GqlModuleOptions';
/** Type resolvers (`__resolveType`) get no enhancers whatever the options say; they return a name. */
const TYPE_RESOLVER_METHOD = '__resolveType';

/** One field resolver the guard would have to check. */
interface GuardedFieldResolver {
  readonly resolver: string;
  readonly method: string;
  /** `Type.field` when the resolver names its type, else the field. */
  readonly field: string;
  readonly why: string;
}

/**
 * Fails the start-up when a GraphQL field resolver needs DPoP but no guard would run on it.
 *
 * `@nestjs/graphql` runs guards on `@ResolveField()` (and `@ResolveReference()`) methods only
 * with `fieldResolverEnhancers: ['guards']` in the GraphQL module's options; without it a
 * `@DPoPBound()` field (or, with `required: true`, any field not marked `@SkipDPoP()`) is served
 * with no token and no proof, and nothing says so. Failing closed at start-up is the only place
 * this can be caught: at request time the guard is simply never called.
 *
 * Does nothing when the application has no GraphQL module or DPoP is disabled.
 */
@Injectable()
export class DPoPGraphqlCheck implements OnModuleInit {
  constructor(
    private readonly modules: ModulesContainer,
    private readonly reflector: Reflector,
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly options: ResolvedDPoPOptions,
  ) {}

  onModuleInit(): void {
    if (!this.options.enabled) return;
    const unguarded = this.graphqlOptions().filter(
      (options) => !(options.fieldResolverEnhancers ?? []).includes('guards'),
    );
    if (unguarded.length === 0) return;
    const fields = this.guardedFieldResolvers();
    if (fields.length === 0) return;
    const list = fields
      .map((f) => `${f.resolver}.${f.method} (field ${f.field}, ${f.why})`)
      .join('; ');
    throw new Error(
      `DPoP: GraphQL field resolvers ${list} need a DPoP check, but @nestjs/graphql runs no ` +
        `guard on field resolvers: add fieldResolverEnhancers: ['guards'] to the ` +
        `GraphQLModule options (or mark the fields @SkipDPoP() if they serve no bound data)`,
    );
  }

  /** The options of every GraphQL module of the application (none without @nestjs/graphql). */
  private graphqlOptions(): { fieldResolverEnhancers?: unknown[] }[] {
    const found: { fieldResolverEnhancers?: unknown[] }[] = [];
    for (const module of this.modules.values()) {
      const instance: unknown = module.providers.get(GRAPHQL_MODULE_OPTIONS)?.instance;
      if (typeof instance === 'object' && instance !== null) found.push(instance);
    }
    return found;
  }

  /** Field (and reference) resolvers on which the guard would demand something. */
  private guardedFieldResolvers(): GuardedFieldResolver[] {
    const scanner = new MetadataScanner();
    const found: GuardedFieldResolver[] = [];
    const seen = new Set<unknown>();
    for (const module of this.modules.values()) {
      for (const wrapper of module.providers.values()) {
        const instance: unknown = wrapper.instance;
        const type: unknown =
          typeof instance === 'object' && instance !== null ? instance.constructor : undefined;
        if (typeof type !== 'function' || seen.has(type)) continue;
        seen.add(type);
        const resolverClass = type;
        const prototype = resolverClass.prototype as Record<string, unknown>;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const method = prototype[name];
          if (typeof method !== 'function' || name === TYPE_RESOLVER_METHOD) continue;
          const isField =
            Reflect.getMetadata(RESOLVER_PROPERTY_METADATA, method) === true ||
            Reflect.getMetadata(RESOLVER_REFERENCE_METADATA, method) === true;
          if (!isField) continue;
          const policy = dpopRoutePolicy(
            this.reflector,
            method,
            resolverClass,
            this.options.publicRouteMetadata,
          );
          const required = policy.required ?? this.options.required;
          if (policy.skip || !(policy.bound || required)) continue;
          const typeName: unknown = Reflect.getMetadata(RESOLVER_TYPE_METADATA, resolverClass);
          const fieldName: unknown = Reflect.getMetadata(RESOLVER_NAME_METADATA, method);
          const field = typeof fieldName === 'string' && fieldName !== '' ? fieldName : name;
          found.push({
            resolver: resolverClass.name,
            method: name,
            field: typeof typeName === 'string' && typeName !== '' ? `${typeName}.${field}` : field,
            why: policy.bound
              ? '@DPoPBound()'
              : policy.required === true
                ? 'a proof required on the route'
                : 'required: true',
          });
        }
      }
    }
    return found;
  }
}
