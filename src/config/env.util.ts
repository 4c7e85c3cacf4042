/**
 * Small, strict readers for environment variables. Each one names the variable in its error, so
 * a bad deployment fails at start-up with a message that says what to fix.
 */
import { isIP } from 'node:net';

/** The environment as a plain record (`process.env` or a test's own object). */
export type Env = Readonly<Record<string, string | undefined>>;

/** The value of `name`, or `undefined` when it is unset or blank. */
export function readEnv(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or `fallback` when unset. */
export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readEnv(env, name);
  if (raw === undefined) return fallback;
  return parseBoolean(name, raw);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/**
 * `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any case (the words `DPOP_*` flags
 * accept too); anything else throws a message naming the variable, so that a typo fails at
 * start-up rather than silently meaning `false`.
 */
export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

/** Fewest different characters a secret must have. */
const MIN_SECRET_VARIETY = 8;

/**
 * Why `secret` is a placeholder rather than a secret (white space only, or fewer than 8
 * different characters, e.g. `"aaaa…"`), or `undefined` when it is not. Long enough is not
 * enough: such a value is guessable.
 */
export function lowVarietySecret(secret: string): string | undefined {
  if (secret.trim() === '') return 'is white space only';
  const different = new Set(secret).size;
  return different < MIN_SECRET_VARIETY
    ? `has only ${different} different characters (at least ${MIN_SECRET_VARIETY} needed): use a random value, e.g. openssl rand -base64 32`
    : undefined;
}

/** A whole number in `[min, max]`, or `fallback` when unset. */
export function readInteger(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = readEnv(env, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** A comma-separated list, trimmed, empty entries dropped; `undefined` when unset. */
export function readList(env: Env, name: string): string[] | undefined {
  const raw = readEnv(env, name);
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * An absolute http(s) URL without query, fragment or credentials, returned without a trailing
 * slash; `undefined` when unset.
 */
export function readBaseUrl(env: Env, name: string): string | undefined {
  const raw = readEnv(env, name);
  if (raw === undefined) return undefined;
  const url = URL.parse(raw);
  if (
    url === null ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== '' ||
    raw.includes('?') ||
    raw.includes('#')
  ) {
    throw new Error(
      `${name} must be an absolute http(s) URL without query or fragment, got "${raw}"`,
    );
  }
  const text = url.href;
  return text.endsWith('/') ? text.slice(0, -1) : text;
}

/** A DNS host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * An address to listen on: an IPv4 or IPv6 address (brackets allowed around IPv6, as in a URL),
 * or a host name; `fallback` when unset. No scheme and no port: `PORT` says that.
 */
export function readListenHost(env: Env, name: string, fallback: string): string {
  const raw = readEnv(env, name);
  if (raw === undefined) return fallback;
  const bare = /^\[(.*)\]$/.exec(raw)?.[1] ?? raw;
  if (isIP(bare) !== 0 || HOST_NAME.test(bare)) return bare;
  throw new Error(
    `${name} must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::), got "${raw}"`,
  );
}
