/**
 * Small grammars of the library's settings and headers (internal: the sample app keeps its own
 * copies, since they are not part of the public door).
 */

/**
 * RFC 9110 host: a reg-name or IPv4 of letters, digits, `-` and `.`, or a bracketed IPv6
 * literal, with an optional port. Nothing else may reach a URL built from it: a `Host` header
 * carrying `/`, `@`, `?` or `#` could otherwise smuggle a path or another host into it.
 */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/**
 * Is `value` only a host and an optional port (a `Host` header, `X-Forwarded-Host` or RFC 7239
 * `host=` value), safe to put after `scheme://`?
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.2
 */
export function isHttpHost(value: unknown): value is string {
  return typeof value === 'string' && HOST.test(value);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/**
 * Reads a boolean setting: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any case, around
 * spaces. Anything else throws a message naming the setting, so a typo fails at start-up rather
 * than silently meaning `false`.
 * @param name what to name in the message, e.g. the environment variable
 */
export function parseBooleanSetting(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}
