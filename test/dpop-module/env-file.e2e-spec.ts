import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '@nestjs/config';
import {
  DPoPModule,
  DPOP_RESOLVED_OPTIONS,
  dpopOptionsFromEnv,
  type ResolvedDPoPOptions,
} from 'nest-dpop';
// Imported (and so evaluated) before any test has written a .env file or called
// ConfigModule.forRoot(), as a user's feature modules are.
import {
  ConfigServiceModule,
  FactoryModule,
  FromEnvModule,
  OldFormModule,
} from './env-file.modules.js';

// Issue 15 (c): the documented forms read DPOP_* after @nestjs/config has loaded `.env`.
const VARIABLES = ['DPOP_REQUIRED', 'DPOP_PROOF_TTL', 'PROBLEM_TYPE_BASE'] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
let dir: string;
let envFilePath: string;
let app: INestApplication | undefined;

beforeAll(() => {
  for (const name of VARIABLES) delete process.env[name];
  dir = mkdtempSync(join(tmpdir(), 'nest-dpop-env-file-'));
  envFilePath = join(dir, '.env');
  writeFileSync(
    envFilePath,
    'DPOP_REQUIRED=true\nDPOP_PROOF_TTL=45\nPROBLEM_TYPE_BASE=https://example.com/problems/\n',
  );
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  // ConfigModule.forRoot() copied the .env values into process.env: start each test without.
  for (const name of VARIABLES) delete process.env[name];
});

afterAll(() => {
  for (const name of VARIABLES) {
    if (saved[name] !== undefined) process.env[name] = saved[name];
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A root module as the README shows it: ConfigModule.forRoot() loads `.env`, then the feature. */
async function start(feature: Type): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: [ConfigModule.forRoot({ envFilePath }), feature] })
  class AppModule {}
  app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `${await app.getUrl()}/ping` };
}

describe('DPOP_* from a .env file loaded by ConfigModule.forRoot({ envFilePath })', () => {
  it.each([
    ['DPoPModule.forRoot({ fromEnv: true })', FromEnvModule],
    [
      'forRootAsync({ imports: [ConfigModule], inject: [ConfigService], fromEnv })',
      ConfigServiceModule,
    ],
    ['forRootAsync({ useFactory: () => dpopOptionsFromEnv() })', FactoryModule],
  ])('DPOP_REQUIRED=true takes effect with %s', async (_form, feature) => {
    expect(process.env.DPOP_REQUIRED).toBeUndefined(); // only the .env file says it
    const { app, url } = await start(feature);
    const options = app.get<ResolvedDPoPOptions>(DPOP_RESOLVED_OPTIONS);
    expect(options).toMatchObject({ required: true, proofTtl: 45 });
    // And over real HTTP: a guarded route without a proof is refused.
    const res = await fetch(url);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('ERR_DPOP_MISSING');
  });

  it('the ConfigService recipe also gets the app’s own settings from the .env file', async () => {
    const { app } = await start(ConfigServiceModule);
    expect(app.get<ResolvedDPoPOptions>(DPOP_RESOLVED_OPTIONS).problemTypeBase).toBe(
      'https://example.com/problems/',
    );
  });

  it('the old form, forRoot({ ...dpopOptionsFromEnv() }), read process.env on import: .env is lost', async () => {
    const { app, url } = await start(OldFormModule);
    // ConfigModule did load the file, but after the options were already read.
    expect(process.env.DPOP_REQUIRED).toBe('true');
    expect(app.get<ResolvedDPoPOptions>(DPOP_RESOLVED_OPTIONS)).toMatchObject({
      required: false,
      proofTtl: 120,
    });
    expect((await fetch(url)).status).toBe(200);
  });

  // In one file, ConfigModule listed first: its forRoot() is async, and with a validation schema
  // it fills process.env only after an await, so the spread that follows it still reads too early.
  it.each([
    ['forRoot({ fromEnv: true })', true, () => DPoPModule.forRoot({ fromEnv: true })],
    [
      'forRoot({ ...dpopOptionsFromEnv() })',
      false,
      () => DPoPModule.forRoot({ ...dpopOptionsFromEnv() }),
    ],
  ])(
    'after ConfigModule.forRoot({ validationSchema }) in the same imports: %s sees .env: %s',
    async (_form, sees, dpop) => {
      const accepting = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: (value: unknown) => ({ value }),
        },
      };
      @Module({
        imports: [ConfigModule.forRoot({ envFilePath, validationSchema: accepting }), dpop()],
      })
      class OneFileAppModule {}
      app = await NestFactory.create(OneFileAppModule, { logger: false, abortOnError: false });
      expect(app.get<ResolvedDPoPOptions>(DPOP_RESOLVED_OPTIONS).required).toBe(sees);
    },
  );
});
