import type { VerifiedAccessToken } from '../access-token/access-token.types.js';
import { DPoPError } from '../errors/dpop.errors.js';

/**
 * RFC 6750 §3.1: the verified token must grant every scope the route requires (403
 * `insufficient_scope` otherwise); no token at all is a 401.
 */
export function checkScopes(
  token: VerifiedAccessToken | undefined,
  scopes: readonly string[],
): void {
  if (token === undefined) {
    throw new DPoPError('ERR_DPOP_TOKEN_REQUIRED', 'This endpoint requires an access token', {
      scope: scopes.join(' '),
    });
  }
  if (!scopes.every((scope) => token.scopes.includes(scope))) {
    throw new DPoPError(
      'ERR_DPOP_INSUFFICIENT_SCOPE',
      'The access token does not grant the scope this endpoint requires',
      { scope: scopes.join(' ') },
    );
  }
}

/**
 * RFC 8707: a server that publishes several protected resources accepts at each only tokens
 * issued for it, so that one resource cannot replay a token it received against its neighbour.
 * `resource` is the identifier of the resource the request is for (`undefined`: the module-wide
 * `audience` check was all there is to do).
 */
export function checkResourceAudience(
  token: VerifiedAccessToken,
  resource: string | undefined,
): void {
  if (resource === undefined) return;
  const aud = token.claims.aud;
  if (aud === resource || (Array.isArray(aud) && aud.includes(resource))) return;
  throw new DPoPError(
    'ERR_DPOP_TOKEN_INVALID',
    'The access token is invalid: it was issued for another resource (aud)',
    { claim: 'aud' },
  );
}

/**
 * The path that picks a request's protected resource: the route the framework matched when it
 * says (Express `req.baseUrl` + `req.route.path`, Fastify `request.routeOptions.url`), since that
 * is what serves the request however its URL is spelled (Express matches paths without regard
 * to case, Fastify decodes percent-encoded characters). Otherwise (a middleware outside any
 * route) the URL's path, its unreserved characters decoded and in lower case, compared with the
 * resources' paths in lower case.
 */
export function resourcePathOf(request: object, path: string | undefined): string | undefined {
  const r = request as {
    routeOptions?: { url?: unknown };
    route?: { path?: unknown };
    baseUrl?: unknown;
  };
  const fastify = r.routeOptions?.url;
  if (typeof fastify === 'string' && fastify !== '') return fastify;
  const express = r.route?.path;
  if (typeof express === 'string' && express !== '') {
    return (typeof r.baseUrl === 'string' ? r.baseUrl : '') + express;
  }
  return path === undefined ? undefined : looseResourcePath(path);
}

/** RFC 3986 §2.3: unreserved characters percent-encoded mean the same decoded. */
const ENCODED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])/g;

/** A URL path spelled as loosely as routers match it: unreserved characters decoded, lower case. */
export function looseResourcePath(path: string): string {
  return path
    .replace(ENCODED_UNRESERVED, (code) => String.fromCharCode(parseInt(code.slice(1), 16)))
    .toLowerCase();
}
