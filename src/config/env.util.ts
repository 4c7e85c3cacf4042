/**
 * Small, strict readers for environment variables. Each one names the variable in its error, so
 * a bad deployment fails at start-up with a message that says what to fix.
 */
import { parseBooleanSetting } from 'nest-dpop';

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
  // The DPoP library's parser, so that DPOP_* and ARCP_* flags accept the same words.
  return parseBooleanSetting(name, raw);
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
