/** The parts of a request used to work out its base URL. */
export interface BaseUrlRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { encrypted?: boolean } | null;
}

/** A `Host` value that is only a host and port: nothing that could smuggle a path or a scheme. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

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
  return typeof host === 'string' && HOST.test(host)
    ? `${scheme}://${host}`
    : `${scheme}://localhost:${port}`;
}
