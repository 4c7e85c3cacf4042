/**
 * RFC 9110 host: a reg-name or IPv4 of letters, digits, `-` and `.`, or a bracketed IPv6
 * literal, with an optional port. Nothing else may reach a URL built from it: a `Host` header
 * carrying `/`, `@`, `?` or `#` could otherwise smuggle a path or another host into it.
 */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** Is `value` only a host and an optional port, safe to put after `scheme://`? */
export function isHttpHost(value: unknown): value is string {
  return typeof value === 'string' && HOST.test(value);
}

/** The parts of a request used to work out its base URL. */
export interface BaseUrlRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { encrypted?: boolean } | null;
}

/**
 * The base URL for links the app returns (`polling_url`, `Location`, discovery): the configured
 * public URL, else the connection's scheme and the `Host` header when it is well formed.
 * Forwarded headers are not read: behind a proxy, set `ARCP_PUBLIC_URL`.
 */
export function publicBaseUrl(
  publicUrl: string | undefined,
  request: BaseUrlRequest,
  port: number,
): string {
  if (publicUrl !== undefined) return publicUrl;
  const scheme = request.socket?.encrypted ? 'https' : 'http';
  const host = request.headers.host;
  // The same grammar as the DPoP guard's: a Host it refuses never makes a link here.
  return isHttpHost(host) ? `${scheme}://${host}` : `${scheme}://localhost:${port}`;
}
