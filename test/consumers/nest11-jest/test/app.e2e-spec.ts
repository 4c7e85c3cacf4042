import { Test, TestingModule } from '@nestjs/testing';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { App } from 'supertest/types';
import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import { Redis } from 'ioredis';
import { InMemoryJtiStore, JtiStore } from 'nest-dpop';
import {
  DPoPTestKey,
  redisStandIn,
  seedRedisJtiStoreHistory,
} from 'nest-dpop/testing';
import { AppModule } from './../src/app.module';

// nest new's e2e spec (a new app per test, closed after each), with nest-dpop's README recipes:
// the store swapped without any Redis, then the real Redis at REDIS_URL.

/** GET /me with a fresh proof, then the same proof again. */
async function meTwice(app: INestApplication<App>) {
  const url = `${await app.getUrl()}/me`;
  const key = DPoPTestKey.generate();
  const proof = key.proof({ method: 'GET', url });
  const first = await request(app.getHttpServer())
    .get('/me')
    .set('DPoP', proof);
  const replay = await request(app.getHttpServer())
    .get('/me')
    .set('DPoP', proof);
  return { key, first, replay };
}

describe('AppController (e2e, store swapped: no Redis)', () => {
  let app: INestApplication<App>;

  beforeEach(async () => {
    const moduleFixture: TestingModule = await Test.createTestingModule({
      imports: [AppModule],
    })
      .overrideProvider(getRedisConnectionToken()) // no Redis client is created
      .useValue(redisStandIn())
      .overrideProvider(JtiStore) // the replay store the guard uses
      .useValue(new InMemoryJtiStore())
      .compile();

    app = moduleFixture.createNestApplication();
    await app.listen(0, '127.0.0.1');
  });

  it('/ (GET)', () => {
    return request(app.getHttpServer())
      .get('/')
      .expect(200)
      .expect('Hello World!');
  });

  it('/me (GET): a proof, then its replay', async () => {
    const { key, first, replay } = await meTwice(app);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ jkt: key.jkt });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('ERR_DPOP_REPLAY');
  });

  afterEach(async () => {
    await app.close();
  });
});

describe('AppController (e2e, real Redis)', () => {
  let app: INestApplication<App>;

  beforeAll(async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
    });
    await seedRedisJtiStoreHistory(redis); // { keyPrefix } too if your RedisJtiStore has one
    await redis.quit();
  });

  beforeEach(async () => {
    const moduleFixture: TestingModule = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication();
    await app.listen(0, '127.0.0.1');
  });

  it('/me (GET): a proof is recorded in Redis, its replay refused', async () => {
    const { key, first, replay } = await meTwice(app);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ jkt: key.jkt });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('ERR_DPOP_REPLAY');
  });

  it('/me (GET): each new app serves at once after listen(), no wait of its own', async () => {
    const { first } = await meTwice(app);
    expect(first.status).toBe(200);
    const redis = app.get<Redis>(getRedisConnectionToken());
    expect(redis.status).toBe('ready'); // served at once after listen(): no wait of our own
  });

  afterEach(async () => {
    await app.close();
  });
});
