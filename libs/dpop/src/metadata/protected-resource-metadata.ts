/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata, as the module publishes it. The members are
 * the RFC's own names, so that any registered or extension member can be given as is.
 * `dpop_signing_alg_values_supported` is derived from the DPoP algorithms, and
 * `dpop_bound_access_tokens_required` from `required` unless given.
 */
export interface ProtectedResourceMetadataOptions {
  /**
   * The resource identifier: an absolute URL (its origin must be `publicUrl`'s or one of
   * `allowedOrigins` when those are set), or a path (e.g. `/mcp`) under `publicUrl` (else the
   * first of `allowedOrigins`). Never taken from a request.
   */
  resource: string;
  /** Issuer identifiers of the authorization servers that issue tokens for it. */
  authorization_servers?: string[];
  /** The scopes used in requests for it. */
  scopes_supported?: string[];
  /** How tokens may be presented. Default `['header']` (the only way this library reads). */
  bearer_methods_supported?: ('header' | 'body' | 'query')[];
  /** Human-readable name. */
  resource_name?: string;
  /** Documentation URL. */
  resource_documentation?: string;
  resource_policy_uri?: string;
  resource_tos_uri?: string;
  jwks_uri?: string;
  /** Default: `true` when the module has `required: true`, else `false`. */
  dpop_bound_access_tokens_required?: boolean;
  /** Any other member (RFC 9728 §2 or an extension). */
  [member: string]: unknown;
}

/** One published metadata document, built once at start-up. */
export interface PublishedResourceMetadata {
  /** The resource identifier (absolute). */
  readonly resource: string;
  /** The metadata URL (RFC 9728 §3.1: the well-known path inserted before the resource's path). */
  readonly url: string;
  /** The path it is served at (the URL's path). */
  readonly servedPath: string;
  /** The resource's path as the application sees requests (without `publicUrl`'s base path). */
  readonly routePath: string;
  /** The document. */
  readonly document: Readonly<Record<string, unknown>>;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** RFC 9728 §3.1: `https://h/p` → `https://h/.well-known/oauth-protected-resource/p`. */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${WELL_KNOWN}${path}${url.search}`;
}

/** What {@link resolveProtectedResources} reads from the module's options. */
export interface ProtectedResourceContext {
  readonly publicUrl: string | undefined;
  readonly allowedOrigins: readonly string[];
  readonly algorithms: readonly string[];
  readonly required: boolean;
}

/**
 * The documents to publish, checked at start-up with messages naming the option.
 */
export function resolveProtectedResources(
  given: ProtectedResourceMetadataOptions | ProtectedResourceMetadataOptions[] | undefined,
  context: ProtectedResourceContext,
): PublishedResourceMetadata[] {
  if (given === undefined) return [];
  const list = Array.isArray(given) ? given : [given];
  const base = context.publicUrl === undefined ? undefined : new URL(context.publicUrl);
  const basePath = base === undefined ? '' : base.pathname.replace(/\/+$/, '');
  const published = list.map((options, index) => {
    const name = `DPoP option protectedResource${Array.isArray(given) ? `[${index}]` : ''}`;
    if (typeof options !== 'object' || options === null || typeof options.resource !== 'string') {
      throw new Error(`${name}.resource must be a URL or a path`);
    }
    let resource: URL;
    if (options.resource.startsWith('/')) {
      const origin = base?.origin ?? context.allowedOrigins[0];
      if (origin === undefined) {
        throw new Error(
          `${name}.resource is a path: set publicUrl (or allowedOrigins) to say the origin it is served at`,
        );
      }
      resource = new URL(`${origin}${basePath}${options.resource}`);
    } else {
      try {
        resource = new URL(options.resource);
      } catch {
        throw new Error(`${name}.resource must be an absolute URL or a path`);
      }
      const origins = [...(base === undefined ? [] : [base.origin]), ...context.allowedOrigins];
      if (origins.length > 0 && !origins.includes(resource.origin)) {
        throw new Error(
          `${name}.resource ${resource.href} is not at publicUrl's origin or one of allowedOrigins`,
        );
      }
    }
    if (resource.protocol !== 'https:' && resource.protocol !== 'http:') {
      throw new Error(`${name}.resource must be an http(s) URL`);
    }
    if (resource.hash !== '') throw new Error(`${name}.resource must not have a fragment`);
    // The identifier exactly as configured when it was absolute (a client compares strings).
    const identifier = options.resource.startsWith('/') ? resource.href : options.resource;
    const url = protectedResourceMetadataUrl(identifier);
    const { resource: _omit, ...members } = options;
    const document: Record<string, unknown> = {
      resource: identifier,
      bearer_methods_supported: ['header'],
      ...members,
      dpop_signing_alg_values_supported: [...context.algorithms],
      dpop_bound_access_tokens_required:
        options.dpop_bound_access_tokens_required ?? context.required,
    };
    let routePath = resource.pathname;
    if (basePath !== '' && (routePath === basePath || routePath.startsWith(`${basePath}/`))) {
      routePath = routePath.slice(basePath.length) || '/';
    }
    return {
      resource: identifier,
      url,
      servedPath: new URL(url).pathname,
      routePath: routePath.replace(/\/+$/, '') || '/',
      document,
    };
  });
  const paths = new Set<string>();
  for (const p of published) {
    if (paths.has(p.servedPath)) {
      throw new Error(`DPoP option protectedResource: two resources publish at ${p.servedPath}`);
    }
    paths.add(p.servedPath);
  }
  return published;
}

/**
 * The resource a request path is for: the one whose path is the longest prefix of it (by whole
 * segments), `undefined` when none is.
 */
export function resourceForPath(
  resources: readonly PublishedResourceMetadata[],
): (path: string | undefined) => PublishedResourceMetadata | undefined {
  const byLength = [...resources].sort((a, b) => b.routePath.length - a.routePath.length);
  return (path) => {
    if (path === undefined) return undefined;
    for (const r of byLength) {
      if (r.routePath === '/' || path === r.routePath || path.startsWith(`${r.routePath}/`)) {
        return r;
      }
    }
    return undefined;
  };
}

/**
 * The metadata URL for a request path: that of the resource {@link resourceForPath} finds, else
 * of the first resource. `undefined` when none is published.
 */
export function resourceMetadataUrlFor(
  resources: readonly PublishedResourceMetadata[],
): (path: string | undefined) => string | undefined {
  if (resources.length === 0) return () => undefined;
  const first = resources[0]!.url;
  if (resources.length === 1) return () => first;
  const resourceOf = resourceForPath(resources);
  return (path) => resourceOf(path)?.url ?? first;
}

/**
 * The audience a token must name at a request path: with several resources published, the
 * identifier of the path's resource when it is one of `audience` (RFC 8707); otherwise
 * `undefined` (the module-wide `audience` check is the whole rule).
 */
export function resourceAudienceFor(
  resources: readonly PublishedResourceMetadata[],
  audience: readonly string[] | undefined,
): ((path: string | undefined) => string | undefined) | undefined {
  // None with one resource: the module-wide audience is the rule, and requests skip the lookup.
  if (resources.length < 2 || audience === undefined) return undefined;
  // In lower case on both sides: routers may match paths regardless of case (Express does by
  // default), so the choice of resource must not depend on it either.
  const resourceOf = resourceForPath(
    resources.map((r) => ({ ...r, routePath: r.routePath.toLowerCase() })),
  );
  return (path) => {
    const resource = resourceOf(path?.toLowerCase())?.resource;
    return resource !== undefined && audience.includes(resource) ? resource : undefined;
  };
}
