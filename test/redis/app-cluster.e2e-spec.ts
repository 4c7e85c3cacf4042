/**
 * The sample ARCP app on a Redis Cluster (`REDIS_CLUSTER_NODES`): two instances, each with its own
 * Cluster client as separate processes would have, on a private 3-master Cluster. Every store is
 * there: the DPoP replay store, the validations and the agent registry. Then the ARCP spec's
 * `REDIS_HOST` (with `REDIS_PORT` and `REDIS_PASSWORD`) on a private server that wants a password.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import {
  expectProblem,
  newAgentId,
  pollValidation,
  registrationBody,
  requestTempToken,
  send,
  startValidation,
  tempTokenBody,
  validatedToken,
} from '../app/agent-client.js';
import { bootApp, PUBLIC_URL, type Harness } from '../app/app-harness.js';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import {
  startCluster,
  startRedisServer,
  stopAllRedisServers,
  type RedisClusterHandle,
} from '../support/redis-servers.js';

const PREFIX = 'arcp-cluster:';
let cluster: RedisClusterHandle;
let a: Harness;
let b: Harness;
let key: TestKey;

beforeAll(async () => {
  cluster = await startCluster(3);
  // A fresh Cluster has no replay-history markers, which the replay store must take for a loss
  // (see test/redis/history-loss): this suite is about sharing an intact history.
  const seeder = new Cluster([...cluster.startupNodes], { lazyConnect: true });
  try {
    await seedRedisJtiStoreHistory(seeder, { keyPrefix: `${PREFIX}dpop:jti:` });
  } finally {
    seeder.disconnect();
  }
  const env = {
    REDIS_CLUSTER_NODES: cluster.startupNodes.map(({ host, port }) => `${host}:${port}`).join(','),
    ARCP_REDIS_PREFIX: PREFIX,
  };
  a = await bootApp({ env });
  // One service: the same signing key and key prefix, another client.
  b = await bootApp({ env, signingKey: a.signingKey });
  key = await makeKey('EdDSA');
}, 30_000);

afterAll(async () => {
  try {
    await Promise.allSettled([a?.close(), b?.close()]);
  } finally {
    await stopAllRedisServers();
  }
});

describe('two app instances on a 3-master Redis Cluster', () => {
  it('are configured for the Cluster, not for memory', () => {
    expect(a.config.redis).toMatchObject({ setting: 'REDIS_CLUSTER_NODES', keyPrefix: PREFIX });
    expect(a.config.redis?.target).toMatchObject({ kind: 'cluster' });
  });

  it('run the whole flow with its phases on alternating instances', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(a, agentId, key);
    const validationId = await startValidation(b, agentId, temp, key);
    const passed = await pollValidation(a, temp, validationId, key);
    expect(passed.body.status).toBe('passed');

    const registered = await send(b, 'POST', '/agents/register', {
      token: passed.body.validated_token as string,
      key,
      body: registrationBody(agentId),
    });
    expect(registered.status).toBe(200);
    const access = registered.body.access_token as string;

    const beat = await send(a, 'POST', `/agents/${agentId}/heartbeat`, { token: access, key });
    expect(beat.status).toBe(200);
    const read = await send(b, 'GET', `/agents/${agentId}`, { token: access, key });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ agent_id: agentId });

    // The registry, the validations and the replay store are in the Cluster, on its masters.
    const agentKey = `${PREFIX}agent:${agentId}`;
    expect(await cluster.nodeForKey(agentKey).command('EXISTS', agentKey)).toBe('1');
    const recordKey = `${PREFIX}{val}:${validationId}`;
    expect(await cluster.nodeForKey(recordKey).command('EXISTS', recordKey)).toBe('1');
    const sizes = await Promise.all(cluster.nodes.map((node) => node.command('DBSIZE')));
    expect(sizes.map(Number).every((size) => size > 0)).toBe(true);
  });

  it('a new validation replaces the previous one of the same agent (one script, one slot)', async () => {
    const agentId = newAgentId();
    const temp = await requestTempToken(a, agentId, key);
    const first = await startValidation(a, agentId, temp, key);
    const second = await startValidation(b, agentId, temp, key);
    expect((await pollValidation(a, temp, second, key)).body.status).toBe('passed');
    const old = await send(b, 'GET', `/auth/agent/validation/${first}`, { token: temp, key });
    expectProblem(old, 404, 'not-found');
  });

  it('accept exactly one of 40 concurrent copies of a proof spread over both', async () => {
    const proof = await makeProof(key, {
      htm: 'POST',
      htu: `${PUBLIC_URL}/auth/agent/request_temp_token`,
    });
    const body = tempTokenBody(newAgentId());
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(i % 2 === 0 ? a : b, 'POST', '/auth/agent/request_temp_token', { proof, body }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const refused of results.filter((r) => r.status !== 200)) {
      expectProblem(refused, 401, 'dpop-invalid', 'ERR_DPOP_REPLAY');
    }
  });

  it('spend a validated token once: one of six concurrent registrations over both', async () => {
    const agentId = newAgentId();
    const { validated, validationId } = await validatedToken(a, agentId, key);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        send(i % 2 === 0 ? a : b, 'POST', '/agents/register', {
          token: validated,
          key,
          body: registrationBody(agentId),
        }),
      ),
    );
    expect(results.map((r) => r.status).sort((x, y) => x - y)).toEqual([
      200, 403, 403, 403, 403, 403,
    ]);
    for (const refused of results.filter((r) => r.status === 403)) {
      expectProblem(refused, 403, 'token-invalid');
      expect(refused.body).toMatchObject({
        error_code: 'ALREADY_USED',
        validation_id: validationId,
      });
    }
    const usedKey = `${PREFIX}val:used:${validationId}`;
    expect(await cluster.nodeForKey(usedKey).command('EXISTS', usedKey)).toBe('1');
  });

  it('report ready on /health/ready', async () => {
    for (const h of [a, b]) {
      const ready = await send(h, 'GET', '/health/ready');
      expect(ready.status).toBe(200);
    }
  });
});

describe('REDIS_HOST, REDIS_PORT and REDIS_PASSWORD (the spec names Redis so)', () => {
  const PASSWORD = 'a-redis-password-0123';

  it('serves the flow from a server that requires the password', async () => {
    // Set after the start: the helper's readiness PING goes without a password.
    const server = await startRedisServer();
    await server.command('CONFIG', 'SET', 'requirepass', PASSWORD);
    const seeder = new Redis({ host: server.host, port: server.port, password: PASSWORD });
    try {
      await seedRedisJtiStoreHistory(seeder, { keyPrefix: 'arcp-host:dpop:jti:' });
    } finally {
      seeder.disconnect();
    }
    const env = {
      REDIS_HOST: server.host,
      REDIS_PORT: String(server.port),
      REDIS_PASSWORD: PASSWORD,
      ARCP_REDIS_PREFIX: 'arcp-host:',
    };
    const h = await bootApp({ env });
    try {
      const agentId = newAgentId();
      const { validationId } = await validatedToken(h, agentId, key);
      // Stored there, under the prefix (read with the password: the server refuses without it).
      await expect(server.command('GET', `arcp-host:{val}:${validationId}`)).rejects.toThrow(
        /NOAUTH/,
      );
      const reader = new Redis({ host: server.host, port: server.port, password: PASSWORD });
      try {
        expect(await reader.exists(`arcp-host:{val}:${validationId}`)).toBe(1);
      } finally {
        reader.disconnect();
      }
    } finally {
      await h.close();
    }

    // A wrong password stops the start-up, naming the setting.
    await expect(bootApp({ env: { ...env, REDIS_PASSWORD: 'not-the-password' } })).rejects.toThrow(
      /REDIS_HOST: Redis is not reachable \(.*WRONGPASS/,
    );
  }, 30_000);
});
