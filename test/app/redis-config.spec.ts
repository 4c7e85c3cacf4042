import { describe, expect, it } from '@jest/globals';
import { loadAppConfig } from '../../src/config/app-config.js';
import { validateEnvironment } from '../../src/config/env.schema.js';

const KEYS = { AGENT_KEYS: 'a-valid-agent-key' };

/** Where the app's Redis is: REDIS_URL, REDIS_HOST (+ port, password) or REDIS_CLUSTER_NODES. */
describe('Redis settings', () => {
  it('REDIS_HOST with REDIS_PORT and REDIS_PASSWORD: one server, as the ARCP spec names it', () => {
    const { redis } = loadAppConfig({
      ...KEYS,
      REDIS_HOST: 'redis.internal',
      REDIS_PORT: '6380',
      REDIS_PASSWORD: 's3cret',
    });
    expect(redis).toEqual({
      setting: 'REDIS_HOST',
      keyPrefix: 'arcp:',
      target: { kind: 'host', host: 'redis.internal', port: 6380, password: 's3cret' },
    });
    expect(loadAppConfig({ ...KEYS, REDIS_HOST: '[::1]' }).redis?.target).toEqual({
      kind: 'host',
      host: '::1',
      port: 6379,
      password: undefined,
    });
  });

  it('REDIS_CLUSTER_NODES: a Cluster seeded from every node listed, with REDIS_PASSWORD', () => {
    const { redis } = loadAppConfig({
      ...KEYS,
      REDIS_CLUSTER_NODES: ' redis-1:7000, redis-2:7001 ,[fd00::3]:7002',
      REDIS_PASSWORD: 's3cret',
      ARCP_REDIS_PREFIX: 'svc:',
    });
    expect(redis).toEqual({
      setting: 'REDIS_CLUSTER_NODES',
      keyPrefix: 'svc:',
      target: {
        kind: 'cluster',
        nodes: [
          { host: 'redis-1', port: 7000 },
          { host: 'redis-2', port: 7001 },
          { host: 'fd00::3', port: 7002 },
        ],
        password: 's3cret',
      },
    });
  });

  it('REDIS_URL as before; none of them: memory', () => {
    expect(loadAppConfig({ ...KEYS, REDIS_URL: 'redis://cache:6379/2' }).redis).toEqual({
      setting: 'REDIS_URL',
      keyPrefix: 'arcp:',
      target: { kind: 'url', url: 'redis://cache:6379/2' },
    });
    expect(loadAppConfig(KEYS).redis).toBeUndefined();
  });

  it.each([
    [{ REDIS_URL: 'redis://a:6379', REDIS_HOST: 'b' }, /REDIS_URL and REDIS_HOST are both set/],
    [
      { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' },
      /REDIS_URL and REDIS_CLUSTER_NODES are both set/,
    ],
    [
      { REDIS_HOST: 'a', REDIS_CLUSTER_NODES: 'b:7000' },
      /REDIS_HOST and REDIS_CLUSTER_NODES are both set/,
    ],
    [
      { REDIS_URL: 'redis://a:6379', REDIS_PORT: '6380' },
      /REDIS_PORT cannot be combined with REDIS_URL/,
    ],
    [
      { REDIS_URL: 'redis://a:6379', REDIS_PASSWORD: 'pw' },
      /REDIS_PASSWORD cannot be combined with REDIS_URL/,
    ],
    [
      { REDIS_CLUSTER_NODES: 'b:7000', REDIS_PORT: '7001' },
      /REDIS_PORT cannot be combined with REDIS_CLUSTER_NODES/,
    ],
    [{ REDIS_PORT: '6380' }, /REDIS_PORT is set without REDIS_HOST/],
    [{ REDIS_PASSWORD: 'pw' }, /REDIS_PASSWORD is set without REDIS_HOST or REDIS_CLUSTER_NODES/],
    [{ REDIS_HOST: 'redis://a' }, /REDIS_HOST must be a host name or address/],
    [{ REDIS_HOST: 'a:6379' }, /REDIS_HOST must be a host name or address .*REDIS_PORT/],
    [{ REDIS_HOST: 'a', REDIS_PORT: '0' }, /REDIS_PORT must be a whole number from 1 to 65535/],
    [{ REDIS_HOST: 'a', REDIS_PORT: 'x' }, /REDIS_PORT must be a whole number/],
    [{ REDIS_CLUSTER_NODES: 'a' }, /REDIS_CLUSTER_NODES: "a" is not host:port/],
    [{ REDIS_CLUSTER_NODES: 'a:7000,b' }, /REDIS_CLUSTER_NODES: "b" is not host:port/],
    [{ REDIS_CLUSTER_NODES: 'a:99999' }, /REDIS_CLUSTER_NODES: "a:99999" is not host:port/],
    [{ REDIS_CLUSTER_NODES: ' , ' }, /REDIS_CLUSTER_NODES must list 1 to 100 nodes/],
    [{ REDIS_CLUSTER_NODES: 'a:7000', ARCP_REDIS_PREFIX: '{app}:' }, /ARCP_REDIS_PREFIX/],
  ])('refuses %j at start-up, naming the variables', (env, message) => {
    expect(() => loadAppConfig({ ...KEYS, ...env })).toThrow(message);
    expect(() => validateEnvironment({ ...KEYS, ...env })).toThrow(message);
  });
});
