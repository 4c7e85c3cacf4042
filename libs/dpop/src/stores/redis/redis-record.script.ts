import { createHash, randomBytes } from 'node:crypto';
import { JtiStoreUnavailableError } from '../../errors/dpop.errors.js';
import type { RedisJtiStoreClient } from './redis-jti-store.options.js';

/**
 * The history scripts. Each epoch has its own script, which names the epoch's id: the script
 * that began the epoch (wrote its marker) is the same, so a server that has it in its script
 * cache has run it since it last started. A restart (from a snapshot too), a failover to a
 * replica (Redis 7 replicates no scripts) or `SCRIPT FLUSH` empties the cache, and `EVALSHA`
 * answers `NOSCRIPT`: the very proof that would pass on such a server sees it.
 * See `docs/replay-safety.md`.
 * @internal
 */

/**
 * The script of epoch `id`. KEYS[1] is the jti's key, KEYS[2] the marker; both share a hash tag.
 * - `ARGV[1]` a TTL (ms): records the jti if new (`SET … PX … NX`); answers `1` (new) or `0`
 *   (used) when the marker names this epoch, else `{0|1, marker or '', seconds, µs}`.
 * - `ARGV[1] = 'c'` (check): `{1 if the marker names this epoch, marker or '', seconds, µs}`.
 * - `ARGV[1] = 'b'` (begin): if the marker is still `ARGV[2]` ('' = missing), writes
 *   `<id>.<ARGV[3]>.<Redis time in ms>` and answers `{1, marker, seconds, µs}`; else
 *   `{0, the marker found, seconds, µs}`. (`ARGV[4]`, a loss time of its own, is for the test
 *   seed, whose marker says that history was never lost.)
 */
export function epochScript(id: string): string {
  return (
    `local e = '${id}.' ` +
    "local m = redis.call('GET', KEYS[2]) local a = ARGV[1] " +
    "if a == 'b' then local t = redis.call('TIME') " +
    "if (m or '') ~= ARGV[2] then return {0, m or '', t[1], t[2]} end " +
    "local v = e .. ARGV[3] .. '.' .. " +
    "(ARGV[4] or string.format('%d', t[1] * 1000 + math.floor(t[2] / 1000))) " +
    "redis.call('SET', KEYS[2], v) return {1, v, t[1], t[2]} end " +
    "if a == 'c' then local t = redis.call('TIME') " +
    'if m and string.sub(m, 1, #e) == e then return {1, m, t[1], t[2]} end ' +
    "return {0, m or '', t[1], t[2]} end " +
    "local r = redis.call('SET', KEYS[1], '1', 'PX', a, 'NX') " +
    'if m and string.sub(m, 1, #e) == e then if r then return 1 end return 0 end ' +
    "local t = redis.call('TIME') if r then return {1, m or '', t[1], t[2]} end " +
    "return {0, m or '', t[1], t[2]}"
  );
}

/** The SHA-1 `EVALSHA` names an epoch's script by. */
export function epochScriptSha(id: string): string {
  return createHash('sha1').update(epochScript(id)).digest('hex');
}

/** A fresh epoch id (see `EPOCH_ID`). */
export function newEpochId(): string {
  return randomBytes(16).toString('base64url');
}

/** Reads a marker and Redis' time; not an epoch's witness, so `EVAL` may load it. */
const READ_SCRIPT =
  "local t = redis.call('TIME') return {redis.call('GET', KEYS[1]) or '', t[1], t[2]}";
const READ_SCRIPT_SHA = createHash('sha1').update(READ_SCRIPT).digest('hex');

/** The server's answer to an epoch's script, other than the steady state's `0`/`1`. */
export interface EpochReply {
  /** Record: 1 if the jti was new; check: 1 if the marker names the epoch; begin: 1 if begun. */
  readonly flag: number;
  /** The marker as the script found it (begin: as it left it); '' if missing. */
  readonly marker: string;
  /** Redis' `TIME` when the script ran, in ms. */
  readonly time: number;
}

/** `NOSCRIPT`: the server does not have the epoch's script (it restarted, or never began it). */
export const NOSCRIPT = Symbol('NOSCRIPT');

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Reads an `EpochReply`; anything else is a broken server or script (503). */
export function epochReply(reply: unknown): EpochReply {
  if (Array.isArray(reply) && reply.length === 4) {
    const [flag, marker, seconds, micros] = reply as unknown[];
    const time = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    if (typeof marker === 'string' && Number.isFinite(time)) {
      return { flag: Number(flag), marker, time };
    }
  }
  throw new JtiStoreUnavailableError('DPoP replay store: unexpected Redis reply');
}

/**
 * Records a jti under epoch `sha`: `1`/`0` in the steady state (one `EVALSHA`), the script's
 * array when the marker names another epoch, or {@link NOSCRIPT}. Never `EVAL`: loading an
 * epoch's script anywhere but where the epoch began would hide a restart.
 */
export function recordInEpoch(
  client: RedisJtiStoreClient,
  sha: string,
  key: string,
  markerKey: string,
  ttl: number,
): Promise<unknown> {
  return client
    .evalsha(sha, 2, key, markerKey, ttl)
    .catch((error: unknown) => (isNoScript(error) ? NOSCRIPT : Promise.reject(error)));
}

/** Whether the marker still names epoch `id` on this server, and Redis' time; or NOSCRIPT. */
export function checkEpoch(
  client: RedisJtiStoreClient,
  id: string,
  markerKey: string,
): Promise<EpochReply | typeof NOSCRIPT> {
  return client
    .evalsha(epochScriptSha(id), 2, markerKey, markerKey, 'c')
    .then(epochReply, (e) => (isNoScript(e) ? NOSCRIPT : Promise.reject(e)));
}

/**
 * Begins a new epoch (and loads its script, in the same command) if the marker is still
 * `expected` ('' = missing); the reply's `flag` says whether it did, `marker` what is there now.
 */
export function beginEpoch(
  client: Pick<RedisJtiStoreClient, 'eval'>,
  id: string,
  markerKey: string,
  expected: string,
  signature: string,
  lossAt?: number,
): Promise<EpochReply> {
  const args = lossAt === undefined ? [] : [lossAt];
  return client
    .eval(epochScript(id), 2, markerKey, markerKey, 'b', expected, signature, ...args)
    .then(epochReply);
}

/** The marker ('' if missing) and Redis' time, for a bucket whose epoch is not known yet. */
export function readMarker(client: RedisJtiStoreClient, markerKey: string): Promise<EpochReply> {
  return client
    .evalsha(READ_SCRIPT_SHA, 1, markerKey)
    .catch((error: unknown) =>
      isNoScript(error) ? client.eval(READ_SCRIPT, 1, markerKey) : Promise.reject(error),
    )
    .then((reply) => epochReply(Array.isArray(reply) ? [1, ...(reply as unknown[])] : reply));
}
