import { isHttpHost } from 'nest-dpop';

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
  // The library's host grammar, the one the DPoP guard checks `Host` with.
  return isHttpHost(host) ? `${scheme}://${host}` : `${scheme}://localhost:${port}`;
}
