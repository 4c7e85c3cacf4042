import { readEnv, readInteger, readList, type Env } from './env.util.js';

/** One Redis node as `host:port`. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the app's Redis is, from one of three settings (never a mix):
 * - `REDIS_URL`: one server, `redis://…` or `rediss://…`;
 * - `REDIS_HOST` (+ `REDIS_PORT`, `REDIS_PASSWORD`): one server, as the ARCP spec names it;
 * - `REDIS_CLUSTER_NODES` (+ `REDIS_PASSWORD`): a Redis Cluster, seeded from these nodes.
 */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'host';
      readonly host: string;
      readonly port: number;
      readonly password: string | undefined;
    }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNodeAddress[];
      readonly password: string | undefined;
    };

/** The app's Redis: where it is, and the prefix of every key. */
export interface RedisConfig {
  readonly target: RedisTarget;
  /** `ARCP_REDIS_PREFIX`, default `arcp:`. */
  readonly keyPrefix: string;
  /** The variable that named the server(s), for start-up errors (`REDIS_URL`, …). */
  readonly setting: 'REDIS_URL' | 'REDIS_HOST' | 'REDIS_CLUSTER_NODES';
}

/** The settings that name a Redis; at most one of the first three may be set. */
const TARGETS = ['REDIS_URL', 'REDIS_HOST', 'REDIS_CLUSTER_NODES'] as const;

/** A host name, an IPv4 address or a bracketed IPv6 address, without a port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])$/;

/**
 * Reads `REDIS_URL`, `REDIS_HOST`/`REDIS_PORT`/`REDIS_PASSWORD`, `REDIS_CLUSTER_NODES` and
 * `ARCP_REDIS_PREFIX`; `undefined` when no Redis is named (everything in memory).
 * @throws Error naming the variables when the settings contradict each other or a value is bad
 */
export function readRedisConfig(env: Env): RedisConfig | undefined {
  const named = TARGETS.filter((name) => readEnv(env, name) !== undefined);
  if (named.length > 1) {
    // Two answers to "where is Redis?": starting on either would be a guess.
    throw new Error(
      `${named.join(' and ')} are both set: name Redis once (REDIS_URL, REDIS_HOST or REDIS_CLUSTER_NODES)`,
    );
  }
  const setting = named[0];
  const port = readEnv(env, 'REDIS_PORT');
  const password = readEnv(env, 'REDIS_PASSWORD');
  if (setting !== 'REDIS_HOST' && port !== undefined) {
    throw new Error(
      setting === undefined
        ? 'REDIS_PORT is set without REDIS_HOST'
        : `REDIS_PORT cannot be combined with ${setting}: ${setting === 'REDIS_URL' ? 'the URL names the port' : 'each node names its port'}`,
    );
  }
  if (password !== undefined && (setting === undefined || setting === 'REDIS_URL')) {
    throw new Error(
      setting === undefined
        ? 'REDIS_PASSWORD is set without REDIS_HOST or REDIS_CLUSTER_NODES'
        : 'REDIS_PASSWORD cannot be combined with REDIS_URL: put the password in the URL (redis://:password@host:6379)',
    );
  }
  if (setting === undefined) return undefined;
  const keyPrefix = readEnv(env, 'ARCP_REDIS_PREFIX') ?? 'arcp:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(keyPrefix)) {
    // No braces either: on a Cluster the stores set the hash tags themselves.
    throw new Error(
      'ARCP_REDIS_PREFIX must be 1 to 64 characters of letters, digits, ":", "_", "." or "-"',
    );
  }
  const target: RedisTarget =
    setting === 'REDIS_URL'
      ? { kind: 'url', url: readUrl(env) }
      : setting === 'REDIS_HOST'
        ? {
            kind: 'host',
            host: readHost(readEnv(env, 'REDIS_HOST')!, 'REDIS_HOST'),
            port: readInteger(env, 'REDIS_PORT', 6379, 1, 65_535),
            password,
          }
        : { kind: 'cluster', nodes: readClusterNodes(env), password };
  return { target, keyPrefix, setting };
}

function readUrl(env: Env): string {
  const url = readEnv(env, 'REDIS_URL')!;
  const parsed = URL.parse(url);
  if (parsed === null || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new Error('REDIS_URL must be a redis:// or rediss:// URL');
  }
  // ioredis fills in what the URL leaves out: no host becomes localhost, a path that is not a
  // number becomes database 0. Either would connect somewhere the operator did not name.
  if (parsed.hostname === '' || !url.includes('//')) {
    throw new Error(
      `REDIS_URL must name a host (redis://host:6379), got "${url}": ioredis would silently use localhost:6379`,
    );
  }
  if (!/^\/?(?:[0-9]{1,5})?$/.test(parsed.pathname)) {
    throw new Error(
      `REDIS_URL: the path must be a database number (redis://host:6379/0), got "${parsed.pathname}"`,
    );
  }
  return url;
}

function readHost(host: string, name: string): string {
  if (!HOST.test(host)) {
    throw new Error(
      `${name} must be a host name or address without scheme or port (use REDIS_PORT), got "${host}"`,
    );
  }
  // ioredis takes an IPv6 address without its brackets.
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** `host:port,host:port,…`: the nodes a Cluster client starts from (one is enough). */
function readClusterNodes(env: Env): RedisNodeAddress[] {
  const entries = readList(env, 'REDIS_CLUSTER_NODES') ?? [];
  if (entries.length === 0 || entries.length > 100) {
    throw new Error('REDIS_CLUSTER_NODES must list 1 to 100 nodes as host:port');
  }
  return entries.map((entry) => {
    const colon = entry.lastIndexOf(':');
    const host = colon > 0 ? entry.slice(0, colon) : '';
    const port = colon > 0 ? entry.slice(colon + 1) : '';
    if (host === '' || !/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
      throw new Error(`REDIS_CLUSTER_NODES: "${entry}" is not host:port (e.g. redis-1:6379)`);
    }
    return { host: readHost(host, 'REDIS_CLUSTER_NODES'), port: Number(port) };
  });
}
