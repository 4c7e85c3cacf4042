import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DPoPGuard, DPoPModule, InMemoryJtiStore, JKT, JtiStore } from 'nest-dpop';
import { DPoPTestKey } from 'nest-dpop/testing';
import { DPoPGenerator } from 'nest-dpop-client';

// Issue 15 (d): the READMEs' testing examples, as written: what `baseUrl` is, and why they
// listen on 127.0.0.1.

@Controller()
class MeController {
  @Get('me')
  me(@JKT() jkt: string) {
    return { jkt };
  }
}

@Module({
  imports: [DPoPModule.forRoot({ required: true })],
  controllers: [MeController],
  providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
})
class AppModule {}

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function createApp(): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(JtiStore)
    .useValue(new InMemoryJtiStore())
    .compile();
  app = moduleRef.createNestApplication({ logger: false });
  return app;
}

describe('the testing examples of libs/dpop/README.md and libs/dpop-client/README.md', () => {
  it('baseUrl = await app.getUrl() after app.listen(0, 127.0.0.1): fetch and supertest pass', async () => {
    const app = await createApp();
    await app.listen(0, '127.0.0.1');
    const baseUrl = await app.getUrl();
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const key = DPoPTestKey.generate();
    const url = `${baseUrl}/me`;
    const res = await fetch(url, { headers: { DPoP: key.proof({ method: 'GET', url }) } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jkt: key.jkt });

    const client = await DPoPGenerator.generate();
    await request(app.getHttpServer())
      .get('/me')
      .set('DPoP', await client.createProof({ method: 'GET', url: `${baseUrl}/me` }))
      .expect(200, { jkt: client.jkt });
  });

  it('after app.listen(0) alone, a proof for getUrl() does not pass supertest (htu mismatch)', async () => {
    const app = await createApp();
    await app.listen(0);
    const baseUrl = await app.getUrl();
    // Only where the wildcard is IPv6 (the usual case); an IPv4-only host answers 127.0.0.1.
    if (!baseUrl.includes('[::1]')) return;
    const client = await DPoPGenerator.generate();
    const res = await request(app.getHttpServer())
      .get('/me')
      .set('DPoP', await client.createProof({ method: 'GET', url: `${baseUrl}/me` }));
    expect(res.status).toBe(401);
    expect((res.body as { code: string }).code).toBe('ERR_DPOP_HTU_MISMATCH');
  });
});
