import { createHash } from 'node:crypto';
import type { RedisJtiStoreClient } from './redis-jti-store.options.js';

/**
 * Records the jti (KEYS[1], for ARGV[1] ms, if new) and reads the history marker (KEYS[2]) that
 * guards it: `{1 or 0, marker}` (a missing marker ends the array early: Lua arrays stop at nil).
 */
const RECORD_SCRIPT =
  "local r = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') " +
  "local m = redis.call('GET', KEYS[2]) " +
  'if r then return {1, m} end return {0, m}';
const RECORD_SCRIPT_SHA = createHash('sha1').update(RECORD_SCRIPT).digest('hex');

/**
 * The record script: `EVALSHA`, and `EVAL` once when the script cache is empty (a restarted
 * Redis). Key and marker share a slot (same hash tag), so a Cluster runs it on one node.
 * @internal
 */
export function recordAndReadMarker(
  client: RedisJtiStoreClient,
  key: string,
  markerKey: string,
  ttl: number,
): Promise<unknown> {
  return client
    .evalsha(RECORD_SCRIPT_SHA, 2, key, markerKey, ttl)
    .catch((error: unknown) =>
      error instanceof Error && error.message.startsWith('NOSCRIPT')
        ? client.eval(RECORD_SCRIPT, 2, key, markerKey, ttl)
        : Promise.reject(error),
    );
}
