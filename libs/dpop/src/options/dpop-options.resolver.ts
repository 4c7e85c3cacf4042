import { DPOP_DEFAULTS, assertSupportedAlgorithms, type DPoPAlgorithm } from './dpop.constants.js';
import type { DPoPModuleOptions, ResolvedDPoPOptions } from './dpop-module-options.interface.js';
import {
  DPoPNonceIssuer,
  lowVarietySecret,
  type DPoPNonceOptions,
} from '../verifier/dpop-nonce.issuer.js';
import { parseBooleanSetting } from './setting-syntax.util.js';
import { assertValidDPoPOptions } from './dpop-options.validator.js';
import { resolveAccessTokenOptions } from '../access-token/access-token-options.resolver.js';
import {
  resolveProtectedResources,
  resourceAudienceFor,
  resourceMetadataUrlFor,
} from '../metadata/protected-resource-metadata.js';
import {
  createRequestUrlResolver,
  resolveAllowedOrigins,
} from '../request/request-url.resolver.js';

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`DPoP option ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/**
 * Longest `proofTtl` / `clockSkew` / `nonce.windowSeconds` accepted, in seconds. RFC 9449 §11.1 wants proofs accepted
 * only for a short window (seconds to minutes): past an hour a captured proof is a replayable
 * credential in all but name, and the replay store must keep every `jti` that long.
 */
export const MAX_DPOP_WINDOW_SECONDS = 3600;

/** Above this many seconds `proofTtl` / `clockSkew` start with a warning (RFC 9449 §11.1). */
export const WARN_DPOP_WINDOW_SECONDS = 300;

function shortWindow(name: string, value: number): number {
  positive(name, value);
  if (value > MAX_DPOP_WINDOW_SECONDS) {
    throw new Error(
      `DPoP option ${name} must be at most ${MAX_DPOP_WINDOW_SECONDS} seconds (RFC 9449 §11.1 wants a short window), got ${String(value)}`,
    );
  }
  return value;
}

/**
 * The nonce issuer (its window capped like the proofs': a nonce lives two windows), as the
 * module-wide one or, with `routesOnly`, the one of routes that ask for nonces.
 */
function nonceIssuers(
  nonce: boolean | DPoPNonceOptions | undefined,
): Pick<ResolvedDPoPOptions, 'nonces' | 'routeNonces'> {
  if (nonce === undefined || nonce === false) return { nonces: undefined, routeNonces: undefined };
  if (nonce === true) return { nonces: new DPoPNonceIssuer(), routeNonces: undefined };
  const { routesOnly = false, ...settings } = nonce;
  if (typeof routesOnly !== 'boolean') {
    throw new Error(
      `DPoP option nonce.routesOnly must be true or false, got ${String(routesOnly)}`,
    );
  }
  if (settings.windowSeconds !== undefined) {
    shortWindow('nonce.windowSeconds', settings.windowSeconds);
  }
  const issuer = new DPoPNonceIssuer(settings);
  return routesOnly
    ? { nonces: undefined, routeNonces: issuer }
    : { nonces: issuer, routeNonces: undefined };
}

/**
 * The start-up warnings of resolved options: settings that work but are probably wrong. One line
 * each, logged once by `DPoPModule`.
 */
export function dpopOptionsWarnings(options: ResolvedDPoPOptions): string[] {
  const warnings: string[] = [];
  for (const name of ['proofTtl', 'clockSkew'] as const) {
    if (options[name] > WARN_DPOP_WINDOW_SECONDS) {
      warnings.push(
        `DPoP option ${name} is ${options[name]} s: RFC 9449 §11.1 wants a short window (at most ${WARN_DPOP_WINDOW_SECONDS} s is recommended); a captured proof stays usable that long`,
      );
    }
  }
  if (options.accessToken !== undefined && options.resolveTokenBinding !== undefined) {
    warnings.push(
      'DPoP option resolveTokenBinding is not used: with accessToken, the binding is read from the verified token',
    );
  }
  if ((options.nonces ?? options.routeNonces)?.ephemeral) {
    warnings.push(
      'DPoP nonces use a random per-process secret: set a shared secret when several instances serve the same clients',
    );
  }
  return warnings;
}

function wholeNumber(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`DPoP option ${name} must be a whole number >= 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Applies defaults and refuses unknown options and impossible settings, once, at start-up, with
 * a message naming the option (or the environment variable, with `fromEnv`).
 */
export function resolveDPoPOptions(given: DPoPModuleOptions = {}): ResolvedDPoPOptions {
  assertValidDPoPOptions(given);
  const options: DPoPModuleOptions =
    given.fromEnv === undefined || given.fromEnv === false
      ? given
      : {
          ...dpopOptionsFromEnv(given.fromEnv === true ? process.env : given.fromEnv),
          ...definedOnly(given),
        };
  const algorithms = options.algorithms ?? DPOP_DEFAULTS.algorithms;
  assertSupportedAlgorithms(algorithms, 'DPoP option algorithms');
  if (options.enabled === false && options.required === true) {
    // Disabled wins in the guard, so "required" would silently mean nothing.
    throw new Error(
      'DPoP options enabled: false and required: true contradict each other (DPoP off means no proof is ever required)',
    );
  }
  if (options.strictAuthorizationScheme === true && options.allowBearerBoundTokens === true) {
    throw new Error(
      'DPoP options strictAuthorizationScheme and allowBearerBoundTokens contradict each other',
    );
  }
  const clock = options.clock ?? Date.now;
  const allowedOrigins = resolveAllowedOrigins(options.allowedOrigins, options.publicUrl);
  const accessToken =
    options.accessToken === undefined
      ? undefined
      : resolveAccessTokenOptions(options.accessToken, clock);
  const protectedResources = resolveProtectedResources(options.protectedResource, {
    publicUrl: options.publicUrl,
    allowedOrigins,
    algorithms: [...new Set(algorithms)],
    required: options.required ?? DPOP_DEFAULTS.required,
  });
  const resolved: ResolvedDPoPOptions = {
    enabled: options.enabled ?? DPOP_DEFAULTS.enabled,
    required: options.required ?? DPOP_DEFAULTS.required,
    proofTtl: shortWindow('proofTtl', options.proofTtl ?? DPOP_DEFAULTS.proofTtl),
    clockSkew: shortWindow('clockSkew', options.clockSkew ?? DPOP_DEFAULTS.clockSkew),
    algorithms: [...new Set(algorithms)],
    store: options.store,
    publicUrl: options.publicUrl,
    requestUrl: options.requestUrl,
    trustedProxies: options.trustedProxies ?? [],
    proofBudget: options.proofBudget,
    forwardedHeaders: options.forwardedHeaders ?? 'x-forwarded',
    strictAuthorizationScheme: options.strictAuthorizationScheme ?? false,
    allowBearerBoundTokens: options.allowBearerBoundTokens ?? false,
    ...nonceIssuers(options.nonce),
    resolveTokenBinding: options.resolveTokenBinding,
    problemTypeBase: options.problemTypeBase ?? DPOP_DEFAULTS.problemTypeBase,
    requestProperty: options.requestProperty ?? DPOP_DEFAULTS.requestProperty,
    maxProofLength: positive(
      'maxProofLength',
      options.maxProofLength ?? DPOP_DEFAULTS.maxProofLength,
    ),
    keyCacheSize: wholeNumber('keyCacheSize', options.keyCacheSize ?? DPOP_DEFAULTS.keyCacheSize),
    clock,
    listeners: options.listeners ?? [],
    logRefusals: options.logRefusals ?? true,
    publicRouteMetadata: options.publicRouteMetadata ?? [],
    allowedOrigins,
    accessToken,
    protectedResources,
    resourceMetadataUrl: resourceMetadataUrlFor(protectedResources),
    resourceAudience: resourceAudienceFor(protectedResources, accessToken?.audience),
  };
  // Checks publicUrl and trustedProxies now, with the other options, rather than when the guard
  // is first built.
  createRequestUrlResolver(resolved);
  return resolved;
}

/** `options` without its `undefined` members, so that they do not hide environment values. */
function definedOnly(options: DPoPModuleOptions): DPoPModuleOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as DPoPModuleOptions;
}

const parseBoolean = parseBooleanSetting;

function parseSeconds(name: string, raw: string, max = 86_400): number {
  const value = raw.trim();
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0 || Number(value) > max) {
    throw new Error(`${name} must be a whole number of seconds from 1 to ${max}, got "${raw}"`);
  }
  return Number(value);
}

function parseAlgorithms(name: string, raw: string): DPoPAlgorithm[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  assertSupportedAlgorithms(list, name);
  return [...list];
}

/** `DPOP_NONCE_REQUIRED` other than `routes`: a boolean, or a message naming all three. */
function nonceRequiredSetting(raw: string): boolean {
  try {
    return parseBoolean('DPOP_NONCE_REQUIRED', raw);
  } catch {
    throw new Error(`DPOP_NONCE_REQUIRED must be true, false or routes, got "${raw}"`);
  }
}

/** The options {@link dpopOptionsFromEnv} can set (spelled out in its signature, as public types). */
type DPoPEnvOptions = ReturnType<typeof dpopOptionsFromEnv>;

/**
 * Reads `DPOP_ENABLED`, `DPOP_REQUIRED`, `DPOP_PROOF_TTL`, `DPOP_CLOCK_SKEW`,
 * `DPOP_ALGORITHMS`, and for server nonces `DPOP_NONCE_REQUIRED` (`true`, or `routes`: only on
 * routes whose settings say `nonce: true`), `DPOP_NONCE_SECRET` (shared by
 * all instances; at least 32 characters) and `DPOP_NONCE_WINDOW` (seconds). Unset variables are left out (so the defaults apply); a bad value throws at
 * start-up with a message naming the variable.
 *
 * Call it when the providers are built (inside a `forRootAsync` factory), or let
 * `forRoot({ fromEnv: true })` call it: never in `forRoot({ ...dpopOptionsFromEnv() })`, which
 * reads `process.env` while the module file is imported, before `@nestjs/config` has loaded
 * `.env`.
 *
 * @example DPoPModule.forRootAsync({ useFactory: () => ({ ...dpopOptionsFromEnv(), store }) })
 */
export function dpopOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): Pick<
  DPoPModuleOptions,
  'enabled' | 'required' | 'proofTtl' | 'clockSkew' | 'algorithms' | 'nonce'
> {
  const options: DPoPEnvOptions = {};
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };
  let raw: string | undefined;
  if ((raw = read('DPOP_ENABLED')) !== undefined)
    options.enabled = parseBoolean('DPOP_ENABLED', raw);
  if ((raw = read('DPOP_REQUIRED')) !== undefined)
    options.required = parseBoolean('DPOP_REQUIRED', raw);
  if ((raw = read('DPOP_PROOF_TTL')) !== undefined)
    options.proofTtl = parseSeconds('DPOP_PROOF_TTL', raw, MAX_DPOP_WINDOW_SECONDS);
  if ((raw = read('DPOP_CLOCK_SKEW')) !== undefined)
    options.clockSkew = parseSeconds('DPOP_CLOCK_SKEW', raw, MAX_DPOP_WINDOW_SECONDS);
  if ((raw = read('DPOP_ALGORITHMS')) !== undefined)
    options.algorithms = parseAlgorithms('DPOP_ALGORITHMS', raw);
  if (options.enabled === false && options.required === true) {
    throw new Error(
      'DPOP_ENABLED=false contradicts DPOP_REQUIRED=true (DPoP off means no proof is ever required): unset one of them',
    );
  }
  // `routes`: an issuer for the routes that say `nonce: true`, no nonce required elsewhere.
  raw = read('DPOP_NONCE_REQUIRED');
  const routesOnly = raw !== undefined && raw.trim().toLowerCase() === 'routes';
  const noncesOn = raw !== undefined && (routesOnly || nonceRequiredSetting(raw));
  if (!noncesOn) {
    // A secret or window without nonces means the operator believes nonces are on: they are not.
    for (const name of ['DPOP_NONCE_SECRET', 'DPOP_NONCE_WINDOW']) {
      if (read(name) !== undefined) {
        throw new Error(
          `${name} is set but nonces are off: set DPOP_NONCE_REQUIRED=true (or routes) to use it, or unset ${name}`,
        );
      }
    }
    return options;
  }
  const given = env.DPOP_NONCE_SECRET;
  // Empty is unset (a random per-process secret, with a warning); white space is a mistake.
  if (given !== undefined && given !== '' && given.trim() === '') {
    throw new Error('DPOP_NONCE_SECRET is white space only: use a random value');
  }
  const secret = read('DPOP_NONCE_SECRET');
  if (secret !== undefined && secret.length < 32) {
    throw new Error('DPOP_NONCE_SECRET must be at least 32 characters long');
  }
  const weak = secret === undefined ? undefined : lowVarietySecret(secret);
  if (weak !== undefined) throw new Error(`DPOP_NONCE_SECRET ${weak}`);
  const nonceWindow = read('DPOP_NONCE_WINDOW');
  options.nonce = {
    ...(routesOnly && { routesOnly }),
    ...(secret !== undefined && { secret }),
    ...(nonceWindow !== undefined && {
      windowSeconds: parseSeconds('DPOP_NONCE_WINDOW', nonceWindow, MAX_DPOP_WINDOW_SECONDS),
    }),
  };
  return options;
}
