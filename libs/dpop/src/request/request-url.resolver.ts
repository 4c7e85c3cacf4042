import { BlockList, isIP } from 'node:net';
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';
import { normalizeHttpUri, stripQueryAndFragment } from '../verifier/http-uri.util.js';
import { isHttpHost } from '../options/setting-syntax.util.js';
import { requestAuthority } from './request-headers.util.js';

/** Builds the URL a request's proof `htu` is compared with, or `undefined` if it cannot. */
export type RequestUrlResolver = (request: DPoPHttpRequest) => string | undefined;

/** A `.` or `..` segment, literal or percent-encoded. */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;

/** The request target's path without query: Express' `originalUrl` keeps a router mount prefix. */
function requestPath(request: DPoPHttpRequest): string | undefined {
  const target = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  // Origin-form only (RFC 9112 §3.2.1). An absolute-form target such as `http://other/x`
  // must not choose the host it is compared against.
  if (typeof target !== 'string' || target.charCodeAt(0) !== 0x2f /* / */) return undefined;
  const path = stripQueryAndFragment(target);
  // A path that URL normalisation would change (backslashes, `.`/`..` or `%2e` segments) could
  // match a proof for another route than the one the router picks: refuse it outright.
  return path.includes('\\') || DOT_SEGMENT.test(path) ? undefined : path;
}

/** The last (nearest proxy's) element of a comma-separated header, trimmed. */
function lastValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  if (value === undefined) return undefined;
  const comma = value.lastIndexOf(',');
  return (comma === -1 ? value : value.slice(comma + 1)).trim();
}

/** `proto` and `host` from the last element of an RFC 7239 `Forwarded` header. */
function forwardedPair(header: string | string[] | undefined): { proto?: string; host?: string } {
  const element = lastValue(header);
  const pair: { proto?: string; host?: string } = {};
  if (element === undefined) return pair;
  for (const part of element.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2)
      value = value.slice(1, -1);
    if (name === 'proto' || name === 'host') pair[name] = value;
  }
  return pair;
}

/** Compiles `['10.0.0.0/8', '::1', …]` into a matcher, refusing anything that is not an address. */
function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || (prefix !== undefined && !/^[0-9]{1,3}$/.test(prefix))) {
      throw new Error(`DPoP trustedProxies: "${entry}" is not an IP address or CIDR range`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(prefix), type);
  }
  return list;
}

/** Whether the connection's peer is a trusted proxy (IPv4-mapped IPv6 peers count as IPv4). */
function fromTrustedProxy(list: BlockList, request: DPoPHttpRequest): boolean {
  let address = request.socket?.remoteAddress;
  if (address === undefined) return false;
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) address = address.slice(7);
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Normalises `allowedOrigins` (and checks it against `publicUrl`) once, at start-up.
 * Each entry must be an http(s) origin: `scheme://host[:port]`, nothing after it but an optional
 * `/`. With `publicUrl` as well, its origin must be one of them: anything else is a contradiction
 * (the URL would be built from an origin that is not allowed) and is refused.
 * @returns the origins as `URL.origin` spells them (lower-case, default port dropped); empty
 *   when none is set (an empty list counts as none)
 */
export function resolveAllowedOrigins(
  allowedOrigins: readonly string[] | undefined,
  publicUrl?: string,
): readonly string[] {
  if (allowedOrigins === undefined) return [];
  if (!Array.isArray(allowedOrigins)) {
    throw new Error('DPoP option allowedOrigins must be an array of origins');
  }
  // An empty list is the same as none (e.g. built from an unset environment variable).
  if (allowedOrigins.length === 0) return [];
  const origins = allowedOrigins.map((entry: unknown) => {
    const url = typeof entry === 'string' ? URL.parse(entry) : null;
    if (
      url === null ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.username !== '' ||
      url.password !== '' ||
      url.pathname !== '/' ||
      url.search !== '' ||
      url.hash !== '' ||
      /[?#]/.test(entry as string) ||
      !/^https?:\/\/[^/]+\/?$/i.test(entry as string)
    ) {
      throw new Error(
        `DPoP option allowedOrigins: "${String(entry)}" is not an http(s) origin (scheme://host[:port])`,
      );
    }
    return url.origin;
  });
  if (publicUrl !== undefined) {
    const origin = URL.parse(publicUrl)?.origin;
    if (origin === undefined || !origins.includes(origin)) {
      throw new Error(
        `DPoP options publicUrl and allowedOrigins contradict each other: the origin of publicUrl "${publicUrl}" is not in allowedOrigins`,
      );
    }
  }
  return [...new Set(origins)];
}

/**
 * The start-up warning for settings under which the URL `htu` is compared with follows the
 * client's `Host` header, or `undefined` when the origin is pinned (`publicUrl`,
 * `allowedOrigins`) or the application builds the URL itself (`requestUrl`).
 */
export function requestUrlWarning(options: {
  enabled?: boolean;
  publicUrl?: string;
  allowedOrigins?: readonly string[];
  requestUrl?: RequestUrlResolver;
}): string | undefined {
  if (options.enabled === false || options.requestUrl !== undefined) return undefined;
  if (options.publicUrl !== undefined || (options.allowedOrigins?.length ?? 0) > 0)
    return undefined;
  return (
    'DPoP allowedOrigins is not set (nor publicUrl): htu is checked against whatever Host header ' +
    'the client sends, so a proof made for another origin with the same path is accepted. ' +
    'Set allowedOrigins (or publicUrl) to the public origin(s) of this service.'
  );
}

/** The origin of an absolute URL, or `undefined`. */
function originOf(url: string): string | undefined {
  return URL.parse(url)?.origin;
}

/**
 * Makes the resolver once at start-up, from the module options.
 * - `allowedOrigins` given: whatever the URL is built from, its origin (scheme, host, port) must
 *   be one of them, or the request is refused (`undefined`).
 * - `requestUrl` given: it decides.
 * - `publicUrl` given: that base (normalised once, here) plus the request path.
 * - otherwise: `http` or `https` from the connection itself, the validated authority (`Host`,
 *   or `:authority` on HTTP/2) and the request path. Forwarded headers (`Forwarded`, `X-Forwarded-Proto`, `X-Forwarded-Host`) are
 *   read only when the connection comes from one of `trustedProxies`, so a client cannot pick
 *   the URL its proof is checked against.
 */
export function createRequestUrlResolver(options: {
  publicUrl?: string;
  requestUrl?: RequestUrlResolver;
  trustedProxies?: readonly string[];
  forwardedHeaders?: 'x-forwarded' | 'forwarded';
  allowedOrigins?: readonly string[];
}): RequestUrlResolver {
  const allowed = new Set(resolveAllowedOrigins(options.allowedOrigins, options.publicUrl));
  if (options.requestUrl) {
    const custom = options.requestUrl;
    if (allowed.size === 0) return custom;
    return (request) => {
      const url = custom(request);
      const origin = url === undefined ? undefined : originOf(url);
      return origin !== undefined && allowed.has(origin) ? url : undefined;
    };
  }

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

  const proxies = options.trustedProxies?.length
    ? trustedProxyList(options.trustedProxies)
    : undefined;
  const useRfc7239 = options.forwardedHeaders === 'forwarded';
  return (request) => {
    // `:authority` on HTTP/2, else `Host` (the request policy refuses the two disagreeing).
    let host: string | string[] | undefined = requestAuthority(request);
    let scheme = request.socket?.encrypted ? 'https' : 'http';
    if (proxies !== undefined && fromTrustedProxy(proxies, request)) {
      // One family only, both values from it: the proxy rewrites that one, and passes any
      // client-made copy of the other straight through.
      const forwarded = useRfc7239
        ? forwardedPair(request.headers.forwarded)
        : {
            proto: lastValue(request.headers['x-forwarded-proto']),
            host: lastValue(request.headers['x-forwarded-host']),
          };
      const proto = forwarded.proto?.toLowerCase();
      if (proto !== undefined) {
        if (proto !== 'http' && proto !== 'https') return undefined;
        scheme = proto;
      }
      host = forwarded.host ?? host;
    }
    if (!isHttpHost(host)) return undefined;
    const path = requestPath(request);
    if (path === undefined) return undefined;
    const url = `${scheme}://${host}${path}`;
    if (allowed.size > 0) {
      // The exact spelling first (no parse on the common path), then URL's own normalisation
      // (case, default port, IPv6 forms).
      const origin = `${scheme}://${host}`;
      if (!allowed.has(origin) && !allowed.has(originOf(url) ?? '')) return undefined;
    }
    return url;
  };
}
