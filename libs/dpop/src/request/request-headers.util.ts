/**
 * What the request's header list says beyond Node's `headers` object: repeated headers (Node
 * keeps the first `Host` and the first `Authorization` and drops the others) and the HTTP/2
 * authority. Read from `rawHeaders`, which lists every header line as received.
 */
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';

/** Node's `rawHeaders`: on the request itself (Express, Node), or on Fastify's `raw`. */
function rawHeadersOf(request: DPoPHttpRequest): readonly unknown[] | undefined {
  const raw =
    (request as { rawHeaders?: unknown }).rawHeaders ??
    (request.raw as { rawHeaders?: unknown } | undefined)?.rawHeaders;
  return Array.isArray(raw) ? raw : undefined;
}

/** Whether the request carried the header `name` (lower-case) more than once. */
function isRepeated(request: DPoPHttpRequest, name: string): boolean {
  const raw = rawHeadersOf(request);
  if (raw === undefined) return false;
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const field: unknown = raw[i];
    if (typeof field === 'string' && field.length === name.length && field.toLowerCase() === name) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/**
 * Whether the request carried more than one `Host` header (RFC 9112 §3.2: answer 400). Node
 * keeps the first one in `headers.host`; a proxy in front may have used the last.
 */
export function hasMultipleHostHeaders(request: DPoPHttpRequest): boolean {
  return isRepeated(request, 'host');
}

/**
 * Whether the request carried more than one `Authorization` header. Node (HTTP/1.1 and HTTP/2)
 * keeps the first one in `headers.authorization`; a proxy in front that used the last would
 * have authenticated another credential than the one checked here.
 */
export function hasMultipleAuthorizationHeaders(request: DPoPHttpRequest): boolean {
  return isRepeated(request, 'authorization');
}

/**
 * The request's authority: `:authority` on HTTP/2 (RFC 9113 §8.3.1; a client may send `Host`
 * instead, then that), else the `Host` header. Node's HTTP/1.1 parser refuses a field named
 * `:authority`, so the pseudo-header is only ever present on HTTP/2 requests.
 */
export function requestAuthority(request: DPoPHttpRequest): string | string[] | undefined {
  return request.headers[':authority'] ?? request.headers.host;
}

/**
 * Whether an HTTP/2 request's `Host` header names another authority than its `:authority`
 * (RFC 9113 §8.3.1: such a request is malformed). Compared without case and default port.
 */
export function hostDiffersFromAuthority(request: DPoPHttpRequest): boolean {
  const authority = request.headers[':authority'];
  const host = request.headers.host;
  if (authority === undefined || host === undefined) return false;
  if (typeof authority !== 'string' || typeof host !== 'string') return true;
  const https = request.socket?.encrypted === true;
  return withoutDefaultPort(authority, https) !== withoutDefaultPort(host, https);
}

function withoutDefaultPort(authority: string, https: boolean): string {
  const lower = authority.trim().toLowerCase();
  const port = https ? ':443' : ':80';
  return lower.endsWith(port) ? lower.slice(0, -port.length) : lower;
}
