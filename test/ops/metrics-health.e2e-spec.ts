import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { bootApp, STORES, type Harness } from '../app/app-harness.js';
import { startRedisServer, stopAllRedisServers } from '../support/redis-servers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(stopAllRedisServers);

describe('GET /metrics (sample app)', () => {
  it('serves Prometheus text with DPoP refusals by code and the latency histogram', async () => {
    h = await bootApp();
    // A bound-token route without any token, and a garbage proof on the token endpoint.
    await request(h.server).get('/agents/someone').expect(401);
    await request(h.server)
      .post('/auth/agent/request_temp_token')
      .set('DPoP', 'not.a.proof')
      .send({})
      .expect(401);
    const res = await request(h.server).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE dpop_refusals_total counter');
    expect(res.text).toContain('dpop_refusals_total{code="ERR_DPOP_MALFORMED"} 1');
    expect(res.text).toMatch(/dpop_refusals_total\{code="ERR_DPOP_[A-Z_]+"\} 1/);
    expect(res.text).toMatch(/dpop_verification_duration_seconds_count\{outcome="refused"\} 2/);
  });
});

describe.each(STORES)('GET /health/ready (%s store)', (store) => {
  it('is up when the storage and the replay store answer, next to ARCP /health', async () => {
    h = await bootApp({ store });
    const res = await request(h.server).get('/health/ready').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: {
        storage: { status: 'up', kind: store },
        dpop_replay_store: {
          status: 'up',
          store: store === 'redis' ? 'RedisJtiStore' : 'InMemoryJtiStore',
        },
      },
    });
    await request(h.server).get('/health').expect(200);
  });
});

describe('GET /health/ready with Redis gone', () => {
  it('is 503 with the replay store down', async () => {
    const redis = await startRedisServer();
    h = await bootApp({
      store: 'redis',
      // A fresh redis-server has no replay history yet: the store serves fresh proofs once one
      // clock skew has passed (RedisJtiStore), and readiness says so until then.
      env: { REDIS_URL: `redis://${redis.address}`, DPOP_CLOCK_SKEW: '1' },
    });
    const deadline = Date.now() + 10_000;
    while ((await request(h.server).get('/health/ready')).status !== 200) {
      if (Date.now() > deadline) throw new Error('/health/ready never became 200');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await redis.stop();
    const res = await request(h.server).get('/health/ready').expect(503);
    expect(res.body).toMatchObject({
      status: 'error',
      error: { dpop_replay_store: { status: 'down', store: 'RedisJtiStore' } },
    });
    await redis.start();
  });
});
