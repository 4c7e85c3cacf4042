import { describe, expect, it } from '@jest/globals';
import { evictionHazard, parseRedisInfo, serversSignature } from './redis-server.info.js';

const INFO = [
  '# Server',
  'redis_version:7.0.15',
  'run_id:0123456789abcdef0123456789abcdef01234567',
  '# Memory',
  'maxmemory:1048576',
  'maxmemory_policy:allkeys-lru',
  '# Stats',
  'evicted_keys:42',
  '',
].join('\r\n');

describe('Redis server inspection', () => {
  it('reads run_id, evicted_keys, maxmemory and the policy from INFO', () => {
    expect(parseRedisInfo(INFO)).toEqual({
      runId: '0123456789abcdef0123456789abcdef01234567',
      evictedKeys: 42,
      maxmemory: 1048576,
      policy: 'allkeys-lru',
    });
  });

  it('gives nothing for an INFO without a (hex) run_id', () => {
    expect(parseRedisInfo('# Server\r\nredis_version:7\r\n')).toBeUndefined();
    expect(parseRedisInfo('run_id:not-hex!\r\n')).toBeUndefined();
  });

  it('defaults what INFO leaves out to a server that cannot evict', () => {
    expect(parseRedisInfo('run_id:ab\r\n')).toEqual({
      runId: 'ab',
      evictedKeys: 0,
      maxmemory: 0,
      policy: 'noeviction',
    });
  });

  it('names the hazard of an eviction policy under a memory limit, and only then', () => {
    const server = parseRedisInfo(INFO)!;
    expect(evictionHazard('h:1', server)).toMatch(
      /Redis at h:1 may evict .*maxmemory-policy allkeys-lru.*set maxmemory-policy noeviction/,
    );
    expect(evictionHazard('h:1', { ...server, maxmemory: 0 })).toBeUndefined();
    expect(evictionHazard('h:1', { ...server, policy: 'noeviction' })).toBeUndefined();
  });

  it("signs the servers' run_ids and eviction counts, in any order", () => {
    const a = { runId: 'aa', evictedKeys: 0, maxmemory: 0, policy: 'noeviction' };
    const b = { runId: 'bb', evictedKeys: 3, maxmemory: 0, policy: 'noeviction' };
    expect(serversSignature([a, b])).toBe(serversSignature([b, a]));
    expect(serversSignature([a, b])).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(serversSignature([a, { ...b, evictedKeys: 4 }])).not.toBe(serversSignature([a, b]));
    expect(serversSignature([a, { ...b, runId: 'cc' }])).not.toBe(serversSignature([a, b]));
  });
});
