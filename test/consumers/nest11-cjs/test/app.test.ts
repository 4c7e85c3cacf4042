// The app's own test: the replay store swapped with overrideProvider(JtiStore), real HTTP.
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Test } from '@nestjs/testing';
import { DPoPGuard, JtiStore } from 'nest-dpop';
import { DPoPTestKey } from 'nest-dpop/testing';
import { DPoPClientError, DPoPGenerator } from 'nest-dpop-client';
import { ARCPClient, ARCPClientError } from 'nest-dpop-client/arcp';
import { AppModule } from '../src/app.module';

test('overrideProvider(JtiStore) swaps the replay store', async () => {
  const seen: string[] = [];
  const stub: JtiStore = {
    recordIfNew: async (jti) => {
      seen.push(jti);
      return seen.length === 1; // the first proof is new, every later one a replay
    },
  };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(JtiStore)
    .useValue(stub)
    .compile();
  const app = moduleRef.createNestApplication();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1'); // the origin in allowedOrigins
  try {
    const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/me`;
    const client = await DPoPGenerator.generate();
    const first = await fetch(url, {
      headers: { DPoP: await client.createProof({ method: 'GET', url }) },
    });
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { jkt: client.jkt });
    // A fresh proof, but the stub says "seen": the stub is the store the guard uses.
    const key = DPoPTestKey.generate();
    const second = await fetch(url, { headers: { DPoP: key.proof({ method: 'GET', url }) } });
    assert.equal(second.status, 401);
    assert.equal(seen.length, 2);
  } finally {
    await app.close();
  }
});

test('require() and import() give the same DI tokens (one copy of the package: its ESM build)', async () => {
  const required = require('nest-dpop') as typeof import('nest-dpop');
  // A real import() (TypeScript would turn `import()` into require() under module: commonjs).
  const importEsm = new Function('specifier', 'return import(specifier)') as (
    specifier: string,
  ) => Promise<typeof import('nest-dpop')>;
  const imported = await importEsm('nest-dpop');
  assert.equal(required.JtiStore, imported.JtiStore);
  assert.equal(required.DPoPGuard, imported.DPoPGuard);
  assert.equal(required.DPoPModule, imported.DPoPModule);
  // Every name the CommonJS build exports is there through import() too, as the same value.
  for (const [name, value] of Object.entries(required)) {
    assert.equal((imported as Record<string, unknown>)[name], value, `import(): ${name}`);
  }
});

test('overrideProvider(DPoPGuard) reaches the global guard (APP_GUARD useExisting)', async () => {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(DPoPGuard)
    .useValue({ canActivate: () => true })
    .compile();
  const app = moduleRef.createNestApplication();
  await app.listen(0, '127.0.0.1'); // DPoPGuard is overridden: any port
  try {
    const res = await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/me`);
    assert.equal(res.status, 200, 'no proof, but the guard is overridden');
    assert.deepEqual(await res.json(), { jkt: null });
  } finally {
    await app.close();
  }
});

test("nest-dpop-client/arcp: the ARCP client behind its own subpath, on the main entry's errors", async () => {
  const client = new ARCPClient({
    baseUrl: 'http://127.0.0.1:9',
    generator: await DPoPGenerator.generate(),
  });
  assert.match(client.baseUrl, /^http:\/\/127\.0\.0\.1:9\/$/);
  // One class hierarchy across the two entries (the same DPoPClientError, not a copy).
  assert.ok(new ARCPClientError('ERR_ARCP_HTTP', 'refused') instanceof DPoPClientError);
  assert.equal('ARCPClient' in (await import('nest-dpop-client')), false);
});
