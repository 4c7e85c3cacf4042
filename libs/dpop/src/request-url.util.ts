import type { DPoPHttpRequest } from './dpop-module-options.interface.js';
import { normalizeHttpUri, stripQueryAndFragment } from './http-uri.util.js';

/** Builds the URL a request's proof `htu` is compared with, or `undefined` if it cannot. */
export type RequestUrlResolver = (request: DPoPHttpRequest) => string | undefined;

/**
 * RFC 9110 host: a reg-name or IPv4 of letters, digits, `-` and `.`, or a bracketed IPv6
 * literal, with an optional port. Nothing else may reach the compared URL: a `Host` header
 * carrying `/`, `@`, `?` or `#` could otherwise smuggle a path or another host into it.
 */
const HOST_HEADER = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** The request target's path without query: Express' `originalUrl` keeps a router mount prefix. */
function requestPath(request: DPoPHttpRequest): string | undefined {
  const target = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  // Origin-form only (RFC 9112 §3.2.1). An absolute-form target such as `http://other/x`
  // must not choose the host it is compared against.
  if (typeof target !== 'string' || target.charCodeAt(0) !== 0x2f /* / */) return undefined;
  return stripQueryAndFragment(target);
}

/**
 * Makes the resolver once at start-up, from the module options.
 * - `requestUrl` given: it decides.
 * - `publicUrl` given: that base (normalised once, here) plus the request path.
 * - otherwise: `http` or `https` from the connection itself, the validated `Host` header and the
 *   request path. Forwarded headers (`X-Forwarded-*`, `Forwarded`) are never read, so a client
 *   cannot pick the URL its proof is checked against.
 */
export function createRequestUrlResolver(options: {
  publicUrl?: string;
  requestUrl?: RequestUrlResolver;
}): RequestUrlResolver {
  if (options.requestUrl) return options.requestUrl;

  if (options.publicUrl !== undefined) {
    const normalized = normalizeHttpUri(options.publicUrl);
    if (normalized === undefined || /[?#]/.test(options.publicUrl)) {
      throw new Error(
        `DPoP publicUrl must be an absolute http(s) URL without query or fragment, got "${options.publicUrl}"`,
      );
    }
    const base = normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
    return (request) => {
      const path = requestPath(request);
      return path === undefined ? undefined : base + path;
    };
  }

  return (request) => {
    const host = request.headers.host;
    if (typeof host !== 'string' || !HOST_HEADER.test(host)) return undefined;
    const path = requestPath(request);
    if (path === undefined) return undefined;
    const scheme = request.socket?.encrypted ? 'https://' : 'http://';
    return scheme + host + path;
  };
}
