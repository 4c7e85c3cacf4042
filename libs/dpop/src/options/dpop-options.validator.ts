import type { DPoPModuleOptions } from './dpop-module-options.interface.js';

/**
 * Every key {@link DPoPModuleOptions} accepts. A `Record` over `keyof` so that an option added to
 * the interface and forgotten here fails the type check, instead of being refused at start-up.
 */
const OPTION_KEYS: Record<keyof DPoPModuleOptions, true> = {
  enabled: true,
  required: true,
  proofTtl: true,
  clockSkew: true,
  algorithms: true,
  store: true,
  publicUrl: true,
  trustedProxies: true,
  forwardedHeaders: true,
  strictAuthorizationScheme: true,
  allowBearerBoundTokens: true,
  allowedOrigins: true,
  nonce: true,
  requestUrl: true,
  resolveTokenBinding: true,
  problemTypeBase: true,
  requestProperty: true,
  maxProofLength: true,
  keyCacheSize: true,
  clock: true,
  fromEnv: true,
  listeners: true,
  logRefusals: true,
  publicRouteMetadata: true,
  accessToken: true,
  protectedResource: true,
  proofBudget: true,
};

/** The option names, for messages and tests. */
export const DPOP_OPTION_NAMES: readonly string[] = Object.keys(OPTION_KEYS);

/**
 * Request properties the guard must never overwrite with the proof: the request's own fields,
 * and names that would reach `Object.prototype`.
 */
const RESERVED_REQUEST_PROPERTIES = new Set([
  '__proto__',
  'constructor',
  'prototype',
  'headers',
  'method',
  'url',
  'originalUrl',
  'socket',
  'body',
  'params',
  'query',
]);

/** Levenshtein distance, for the "did you mean" of a mistyped option. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      // Every index read here was written in this row or the previous one (0..j).
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = row;
  }
  return previous[y.length]!;
}

function suggestion(key: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of DPOP_OPTION_NAMES) {
    const d = distance(key, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}

function fail(name: string, expected: string, value: unknown): never {
  throw new Error(`DPoP option ${name} must be ${expected}, got ${describe(value)}`);
}

/**
 * Refuses, with a message naming the option, anything {@link DPoPModuleOptions} does not allow:
 * unknown keys (a typo such as `requierd` would otherwise leave the default silently in force)
 * and values of the wrong type or outside their range. Numbers, algorithms, URLs, proxies and
 * nonce settings are checked further where they are turned into their runtime form.
 */
export function assertValidDPoPOptions(options: unknown): asserts options is DPoPModuleOptions {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`DPoP options must be an object, got ${describe(options)}`);
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(OPTION_KEYS, key)) {
      throw new Error(`Unknown DPoP option ${key}${suggestion(key)}`);
    }
  }
  const present = (name: keyof DPoPModuleOptions) => record[name] !== undefined;

  for (const name of [
    'enabled',
    'required',
    'strictAuthorizationScheme',
    'allowBearerBoundTokens',
  ] as const) {
    if (present(name) && typeof record[name] !== 'boolean')
      fail(name, 'true or false', record[name]);
  }
  if (
    present('logRefusals') &&
    typeof record.logRefusals !== 'boolean' &&
    record.logRefusals !== 'each'
  ) {
    fail('logRefusals', "true, false or 'each'", record.logRefusals);
  }
  if (
    present('publicRouteMetadata') &&
    (!Array.isArray(record.publicRouteMetadata) ||
      !record.publicRouteMetadata.every(
        (key) => (typeof key === 'string' && key !== '') || typeof key === 'symbol',
      ))
  ) {
    fail(
      'publicRouteMetadata',
      'an array of metadata keys (strings or symbols)',
      record.publicRouteMetadata,
    );
  }
  for (const name of ['proofTtl', 'clockSkew', 'maxProofLength', 'keyCacheSize'] as const) {
    if (present(name) && typeof record[name] !== 'number') fail(name, 'a number', record[name]);
  }
  for (const name of ['requestUrl', 'resolveTokenBinding', 'clock'] as const) {
    if (present(name) && typeof record[name] !== 'function') fail(name, 'a function', record[name]);
  }
  if (present('algorithms') && !Array.isArray(record.algorithms)) {
    fail('algorithms', 'an array of algorithm names', record.algorithms);
  }
  if (
    present('trustedProxies') &&
    (!Array.isArray(record.trustedProxies) ||
      !record.trustedProxies.every((entry) => typeof entry === 'string'))
  ) {
    fail('trustedProxies', 'an array of IP addresses or CIDR ranges', record.trustedProxies);
  }
  if (
    present('forwardedHeaders') &&
    record.forwardedHeaders !== 'x-forwarded' &&
    record.forwardedHeaders !== 'forwarded'
  ) {
    fail('forwardedHeaders', '"x-forwarded" or "forwarded"', record.forwardedHeaders);
  }
  if (present('publicUrl') && typeof record.publicUrl !== 'string') {
    fail('publicUrl', 'an absolute http(s) URL', record.publicUrl);
  }
  if (present('store')) {
    const store = record.store as { recordIfNew?: unknown } | null;
    if (typeof store !== 'object' || store === null || typeof store.recordIfNew !== 'function') {
      fail('store', 'a JtiStore (an object with recordIfNew)', record.store);
    }
  }
  if (
    present('nonce') &&
    typeof record.nonce !== 'boolean' &&
    (typeof record.nonce !== 'object' || record.nonce === null || Array.isArray(record.nonce))
  ) {
    fail('nonce', 'true, false or nonce settings', record.nonce);
  }
  if (present('problemTypeBase')) {
    const base = record.problemTypeBase;
    // Problem `type`s are absolute URIs (RFC 9457 §3.1.1 recommends it); white space would make
    // every problem body carry a broken one.
    if (typeof base !== 'string' || /\s/.test(base) || !URL.canParse(base)) {
      fail('problemTypeBase', 'an absolute URI', base);
    }
  }
  if (present('requestProperty')) {
    const property = record.requestProperty;
    if (
      typeof property !== 'string' ||
      property === '' ||
      RESERVED_REQUEST_PROPERTIES.has(property)
    ) {
      fail(
        'requestProperty',
        `a non-empty property name other than ${[...RESERVED_REQUEST_PROPERTIES].join(', ')}`,
        property,
      );
    }
  }
  if (present('fromEnv')) {
    const env = record.fromEnv;
    if (typeof env !== 'boolean' && (typeof env !== 'object' || env === null)) {
      fail('fromEnv', 'true, false or an environment object', env);
    }
  }
  if (
    present('listeners') &&
    (!Array.isArray(record.listeners) ||
      !record.listeners.every(
        (listener) =>
          typeof listener === 'object' &&
          listener !== null &&
          typeof (listener as { onDPoPEvent?: unknown }).onDPoPEvent === 'function',
      ))
  ) {
    fail('listeners', 'an array of objects with an onDPoPEvent method', record.listeners);
  }
}
