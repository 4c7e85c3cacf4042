import { randomBytes } from 'node:crypto';
import { dpopOptionsFromEnv, type DPoPModuleOptions } from 'nest-dpop';
import { dpopCors } from 'nest-dpop/cors';
import {
  lowVarietySecret,
  readBaseUrl,
  readBoolean,
  readEnv,
  readInteger,
  readList,
  readListenHost,
  type Env,
} from './env.util.js';
import { EndpointAllowList } from '../auth/endpoint-address.policy.js';
import { readRedisConfig, type RedisConfig } from './redis.config.js';
import { readSigningKey, type SigningKeyConfig } from './signing-key.config.js';

/** Injection token of the {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** The DPoP settings read from `DPOP_*` (see `dpopOptionsFromEnv`). */
export type DPoPEnvOptions = Pick<
  DPoPModuleOptions,
  'enabled' | 'required' | 'proofTtl' | 'clockSkew' | 'algorithms' | 'nonce'
>;

/** Lifetimes of the three tokens of the flow, in seconds. */
export interface TokenTtls {
  readonly temp: number;
  readonly validated: number;
  readonly access: number;
}

/** Everything the app reads from its environment, parsed and checked once at start-up. */
export interface AppConfig {
  /** `PORT`. Default 3000. */
  readonly port: number;
  /**
   * `HOST`: the address to listen on. Default `127.0.0.1`, this machine only: `/metrics`,
   * `/docs` and registration with a logged development key are nobody else's business until the
   * operator says so (`0.0.0.0` or `::` for every interface, e.g. in a container).
   */
  readonly host: string;
  /**
   * `ARCP_PUBLIC_URL`: the base URL clients use (e.g. behind a reverse proxy). Proof `htu`s are
   * checked against it, and it builds the links the app returns. Unset: taken from the request.
   */
  readonly publicUrl: string | undefined;
  /**
   * `ARCP_CORS_ORIGINS`: browser origins allowed to call the API across origins (comma-separated
   * `scheme://host[:port]`, or `*`), with the headers DPoP needs (`dpopCors` of nest-dpop).
   * Default: none (no CORS headers).
   */
  readonly corsOrigins: readonly string[] | '*';
  /** `ARCP_ISSUER`: the `iss` of every token. Default: the public URL, else `arcp`. */
  readonly issuer: string;
  /** `AGENT_KEYS`: the agent registration keys. */
  readonly agentKeys: readonly string[];
  /** Set when `AGENT_KEYS` was unset and a development key was generated (also in `agentKeys`). */
  readonly devAgentKey: string | undefined;
  /** `ALLOWED_AGENT_TYPES`, lower-cased. */
  readonly allowedAgentTypes: readonly string[];
  /** `DPOP_ENABLED`, `DPOP_REQUIRED`, `DPOP_PROOF_TTL`, `DPOP_CLOCK_SKEW`, `DPOP_ALGORITHMS`. */
  readonly dpop: DPoPEnvOptions;
  /**
   * `REDIS_URL`, or `REDIS_HOST` (`REDIS_PORT`, `REDIS_PASSWORD`), or `REDIS_CLUSTER_NODES`
   * (`REDIS_PASSWORD`), and `ARCP_REDIS_PREFIX`; `undefined` = everything in memory.
   */
  readonly redis: RedisConfig | undefined;
  /** `ARCP_SIGNING_KEY_FILE` / `ARCP_SIGNING_KEY` / `ARCP_SIGNING_ALG`. */
  readonly signing: SigningKeyConfig;
  /** `ARCP_TPR_TOKEN_TTL_TEMP` (900), `…_VALIDATED` (300), `…_ACCESS` (3600). */
  readonly tokenTtl: TokenTtls;
  /** `ARCP_TOKEN_LEEWAY`: seconds of clock tolerance on our own tokens' `exp`. Default 0. */
  readonly tokenLeeway: number;
  /**
   * `ARCP_ENDPOINT_CHECK` (false), `ARCP_ENDPOINT_CHECK_TIMEOUT` (seconds, 3) and
   * `ARCP_ENDPOINT_ALLOW` (host names and CIDR ranges the check may call although internal).
   */
  readonly endpointCheck: {
    readonly enabled: boolean;
    readonly timeoutMs: number;
    readonly allow: readonly string[];
  };
  /** `AGENT_HEARTBEAT_TIMEOUT`: seconds an agent counts as alive after its last heartbeat (60). */
  readonly heartbeatTimeout: number;
  /**
   * `ARCP_MEMORY_MAX_RECORDS`: most agents, and most validations, the in-memory stores hold
   * (10 000). At the cap expired (and, for validations, consumed) records are evicted first;
   * then new ones are refused with a 503. Redis is bounded by key expiry and its own maxmemory.
   */
  readonly memoryMaxRecords: number;
}

/** ARCP's default agent types. */
export const DEFAULT_AGENT_TYPES = [
  'security',
  'monitoring',
  'automation',
  'networking',
  'testing',
];

const AGENT_TYPE = /^[A-Za-z0-9_-]{2,50}$/;

/**
 * `NODE_ENV` names production: `production` or `prod`, in any case. Deployments spell it
 * `Production` or `PROD` too, and each must get production's refusals, not a development key.
 */
export function isProduction(env: Env): boolean {
  const value = readEnv(env, 'NODE_ENV')?.toLowerCase();
  return value === 'production' || value === 'prod';
}

function readAgentKeys(env: Env): { keys: string[]; devKey: string | undefined } {
  const keys = readList(env, 'AGENT_KEYS');
  if (keys === undefined && isProduction(env)) {
    // A generated key is printed in the log: fine on a laptop, an open door in production.
    throw new Error(
      `AGENT_KEYS must be set when NODE_ENV=production (NODE_ENV is "${readEnv(env, 'NODE_ENV')}")`,
    );
  }
  if (keys === undefined) {
    // So that the quick start works: a random key, printed at start-up by main.ts.
    const devKey = `arcp-dev-${randomBytes(18).toString('base64url')}`;
    return { keys: [devKey], devKey };
  }
  if (keys.length === 0) throw new Error('AGENT_KEYS must list at least one key');
  for (const key of keys) {
    if (key.length < 10 || key.length > 200) {
      throw new Error('AGENT_KEYS: every key must be 10 to 200 characters long');
    }
    const weak = lowVarietySecret(key);
    if (weak !== undefined) throw new Error(`AGENT_KEYS: a key ${weak}`);
  }
  return { keys, devKey: undefined };
}

function readAgentTypes(env: Env): string[] {
  const types = readList(env, 'ALLOWED_AGENT_TYPES') ?? DEFAULT_AGENT_TYPES;
  if (types.length === 0 || types.length > 100) {
    throw new Error('ALLOWED_AGENT_TYPES must list 1 to 100 agent types');
  }
  for (const type of types) {
    if (!AGENT_TYPE.test(type)) {
      throw new Error(
        `ALLOWED_AGENT_TYPES: "${type}" is not 2 to 50 characters of letters, digits, "_" or "-"`,
      );
    }
  }
  return [...new Set(types.map((t) => t.toLowerCase()))];
}

function readEndpointAllow(env: Env): string[] {
  const entries = readList(env, 'ARCP_ENDPOINT_ALLOW') ?? [];
  new EndpointAllowList(entries); // refuses a bad entry at start-up, naming the variable
  return entries;
}

function readCorsOrigins(env: Env): readonly string[] | '*' {
  const origins = readList(env, 'ARCP_CORS_ORIGINS') ?? [];
  if (origins.length === 1 && origins[0] === '*') return '*';
  try {
    dpopCors(origins); // refuses an entry that is not an origin, naming it
  } catch (error) {
    throw new Error(`ARCP_CORS_ORIGINS: ${(error as Error).message.replace(/^dpopCors: /, '')}`);
  }
  return origins;
}

/**
 * Parses the environment into an {@link AppConfig}. Pure apart from reading a key file and
 * generating keys: tests pass their own record instead of `process.env`.
 * @throws Error naming the variable when a value is invalid
 */
export function loadAppConfig(env: Env = process.env): AppConfig {
  const publicUrl = readBaseUrl(env, 'ARCP_PUBLIC_URL');
  const { keys, devKey } = readAgentKeys(env);
  return {
    port: readInteger(env, 'PORT', 3000, 0, 65_535),
    host: readListenHost(env, 'HOST', '127.0.0.1'),
    publicUrl,
    corsOrigins: readCorsOrigins(env),
    issuer: readEnv(env, 'ARCP_ISSUER') ?? publicUrl ?? 'arcp',
    agentKeys: keys,
    devAgentKey: devKey,
    allowedAgentTypes: readAgentTypes(env),
    dpop: dpopOptionsFromEnv(env),
    redis: readRedisConfig(env),
    signing: readSigningKey(env),
    tokenTtl: {
      temp: readInteger(env, 'ARCP_TPR_TOKEN_TTL_TEMP', 900, 10, 86_400),
      validated: readInteger(env, 'ARCP_TPR_TOKEN_TTL_VALIDATED', 300, 10, 3_600),
      access: readInteger(env, 'ARCP_TPR_TOKEN_TTL_ACCESS', 3_600, 10, 86_400),
    },
    tokenLeeway: readInteger(env, 'ARCP_TOKEN_LEEWAY', 0, 0, 300),
    endpointCheck: {
      enabled: readBoolean(env, 'ARCP_ENDPOINT_CHECK', false),
      timeoutMs: readInteger(env, 'ARCP_ENDPOINT_CHECK_TIMEOUT', 3, 1, 60) * 1000,
      allow: readEndpointAllow(env),
    },
    heartbeatTimeout: readInteger(env, 'AGENT_HEARTBEAT_TIMEOUT', 60, 1, 86_400),
    memoryMaxRecords: readInteger(env, 'ARCP_MEMORY_MAX_RECORDS', 10_000, 1, 1_000_000),
  };
}
