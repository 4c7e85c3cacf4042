// The app's e2e spec as `nest new` lays it out (test/jest-e2e.json, unchanged): the real app with
// its RedisJtiStore on the real Redis, driven over HTTP by supertest with real proofs.
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DPoPTestKey } from 'nest-dpop/testing';
import { DPoPGenerator } from 'nest-dpop-client';
import { AppModule } from '../src/app.module';

describe('AppModule (e2e, Redis replay store, terminus health)', () => {
  let app: INestApplication;
  const origin = `http://127.0.0.1:${process.env.PORT ?? '3000'}`;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1'); // supertest uses this port
  });

  afterAll(() => app.close());

  it('GET /me: a proof is accepted once, its replay refused by Redis', async () => {
    const key = DPoPTestKey.generate('ES256');
    const proof = key.proof({ method: 'GET', url: `${origin}/me` });
    await request(app.getHttpServer()).get('/me').set('DPoP', proof).expect(200, { jkt: key.jkt });
    const replay = await request(app.getHttpServer()).get('/me').set('DPoP', proof);
    expect(replay.status).toBe(401);
    expect(replay.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(replay.body.code).toBe('ERR_DPOP_REPLAY');
  });

  it('GET /me: a proof from nest-dpop-client is accepted', async () => {
    const client = await DPoPGenerator.generate();
    const proof = await client.createProof({ method: 'GET', url: `${origin}/me` });
    await request(app.getHttpServer())
      .get('/me')
      .set('DPoP', proof)
      .expect(200, { jkt: client.jkt });
  });

  it('GET /me without a proof: 401', async () => {
    const res = await request(app.getHttpServer()).get('/me');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('ERR_DPOP_MISSING');
  });

  it('GET /health: the replay store is up (DPoPHealthIndicator from nest-dpop/terminus)', async () => {
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.dpop_replay_store).toMatchObject({ status: 'up', store: 'RedisJtiStore' });
  });
});
