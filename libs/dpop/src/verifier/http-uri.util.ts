/**
 * RFC 3986 syntax- and scheme-based normalisation of http(s) URIs, for the `htu` comparison
 * (RFC 9449 §4.3 step 9).
 *
 * WHATWG URL parsing already lower-cases scheme and host, drops default ports, removes
 * dot-segments (also `%2e` ones) and turns an empty path into `/`. On top of that this
 * upper-cases percent-encoding hex digits and decodes percent-encoded unreserved characters, so
 * that `/a%7eb`, `/a%7Eb` and `/a~b` compare equal, while the path stays case-sensitive.
 */

const PERCENT_TRIPLET = /%([0-9A-Fa-f]{2})/g;

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e
  );
}

function normalizeTriplet(_match: string, hex: string): string {
  const code = parseInt(hex, 16);
  return isUnreserved(code) ? String.fromCharCode(code) : '%' + hex.toUpperCase();
}

/**
 * Normalises an absolute http(s) URI and drops its query and fragment.
 * @returns `scheme://host[:port]/path`, or `undefined` when it is not an absolute http(s) URI
 *   or carries user information (which no request target has).
 */
export function normalizeHttpUri(uri: string): string | undefined {
  const url = URL.parse(uri);
  if (url === null) return undefined;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '' || url.host === '') return undefined;
  const path = url.pathname.includes('%')
    ? url.pathname.replace(PERCENT_TRIPLET, normalizeTriplet)
    : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

/** Strips `?query` and `#fragment` from a request target or URI. */
export function stripQueryAndFragment(target: string): string {
  let end = target.length;
  const q = target.indexOf('?');
  if (q !== -1) end = q;
  const h = target.indexOf('#');
  if (h !== -1 && h < end) end = h;
  return end === target.length ? target : target.slice(0, end);
}
