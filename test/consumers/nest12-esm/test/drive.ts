// Drives a running consumer app with proofs from nest-dpop-client: valid, replayed, missing; its
// replay store is the real Redis (the proof's key is there) and terminus reports it up.
import { strict as assert } from 'node:assert';
import { Redis } from 'ioredis';
import { DPoPGenerator } from 'nest-dpop-client';
import { KEY_PREFIX } from '../src/redis.module.js';

const base = process.argv[2]!.replace('[::1]', '127.0.0.1');
const url = `${base}/me`;
const key = await DPoPGenerator.generate('ES256');
const proof = await key.createProof({ method: 'GET', url });
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
try {
  // Which keys, not how many: a record of an earlier step (its TTL is its proof's replay
  // window) may expire while this one is written.
  const before = new Set(await redis.keys(`${KEY_PREFIX}*`));

  const ok = await fetch(url, { headers: { DPoP: proof } });
  assert.equal(ok.status, 200, 'a valid proof is accepted');
  assert.deepEqual(await ok.json(), { jkt: key.jkt }, '@JKT() is the key thumbprint');
  const added = (await redis.keys(`${KEY_PREFIX}*`)).filter((k) => !before.has(k));
  assert.equal(added.length, 1, 'the jti went to Redis');

  const replay = await fetch(url, { headers: { DPoP: proof } });
  assert.equal(replay.status, 401, 'a replayed proof is refused');
  assert.match(replay.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(((await replay.json()) as { code: string }).code, 'ERR_DPOP_REPLAY');

  const none = await fetch(url);
  assert.equal(none.status, 401, 'no proof is refused');
  assert.match(none.headers.get('www-authenticate') ?? '', /^DPoP /);
  assert.equal(((await none.json()) as { code: string }).code, 'ERR_DPOP_MISSING');

  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200, 'GET /health');
  const body = (await health.json()) as { info: Record<string, { status: string; store: string }> };
  assert.equal(body.info.dpop_replay_store?.status, 'up');
  assert.equal(body.info.dpop_replay_store?.store, 'RedisJtiStore');
} finally {
  await redis.quit();
}
console.log('DRIVE OK 200 jkt (jti in Redis), replay 401, no proof 401, /health 200');
