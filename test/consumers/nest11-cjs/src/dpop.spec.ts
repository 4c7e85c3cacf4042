// A unit spec as a Nest 11 CommonJS app writes it, run by the Jest setup `nest new` generates
// (package.json "jest": ts-jest, testEnvironment node, rootDir src), unchanged.
import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DPoPGuard, DPoPModule, InMemoryJtiStore, JKT, JtiStore } from 'nest-dpop';
import { DPoPTestKey } from 'nest-dpop/testing';

@Controller('guarded')
class GuardedController {
  @Get()
  get(@JKT() jkt: string | undefined): { jkt: string | null } {
    return { jkt: jkt ?? null };
  }
}

/** The store a production module would use: never reached once the test overrides JtiStore. */
const unreachable: JtiStore = {
  recordIfNew: () => Promise.reject(new Error('the production store was used')),
};

@Module({
  imports: [
    DPoPModule.forRoot({
      required: true,
      allowedOrigins: [`http://127.0.0.1:${process.env.PORT ?? '3000'}`],
      store: unreachable,
    }),
  ],
  controllers: [GuardedController],
  providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
})
class GuardedModule {}

describe('nest-dpop under Jest in a CommonJS app', () => {
  const store = new InMemoryJtiStore();
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [GuardedModule] })
      .overrideProvider(JtiStore)
      .useValue(store)
      .compile();
    expect(moduleRef.get(JtiStore)).toBe(store);
    app = moduleRef.createNestApplication();
    await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1'); // the origin allowed
    url = `http://127.0.0.1:${process.env.PORT ?? '3000'}/guarded`;
  });

  afterAll(() => app.close());

  it('accepts a proof and refuses its replay (the overriding InMemoryJtiStore)', async () => {
    const key = DPoPTestKey.generate();
    const proof = key.proof({ method: 'GET', url });
    await request(app.getHttpServer())
      .get('/guarded')
      .set('DPoP', proof)
      .expect(200, { jkt: key.jkt });
    const replay = await request(app.getHttpServer()).get('/guarded').set('DPoP', proof);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('ERR_DPOP_REPLAY');
  });

  it('refuses a request without a proof', async () => {
    const res = await request(app.getHttpServer()).get('/guarded');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^DPoP /);
  });
});
