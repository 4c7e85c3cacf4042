import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  DPoPModule,
  DPoPProofVerifier,
  InjectDPoPOptions,
  dpopOptionsFromEnv,
  type DPoPModuleOptions,
  type DPoPOptionsFactory,
  type ResolvedDPoPOptions,
} from 'nest-dpop';

@Injectable()
class DPoPConfig implements DPoPOptionsFactory {
  createDPoPOptions(): Promise<DPoPModuleOptions> {
    return Promise.resolve({ required: true, proofTtl: 30 });
  }
}

@Module({ providers: [DPoPConfig], exports: [DPoPConfig] })
class ConfigHolderModule {}

@Injectable()
class OptionsReader {
  constructor(@InjectDPoPOptions() readonly options: ResolvedDPoPOptions) {}
}

/** A logger that keeps what Nest says, so a test can read the start-up error. */
class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (m: unknown) => this.lines.push(String(m));
  error = (m: unknown, ...rest: unknown[]) =>
    this.lines.push([m, ...rest].map((x) => String(x)).join(' '));
  warn = (m: unknown) => this.lines.push(String(m));
  debug = () => undefined;
  verbose = () => undefined;
}

describe('DPoPModule.forRootAsync', () => {
  it('takes a DPoPOptionsFactory with useClass and calls createDPoPOptions', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DPoPModule.forRootAsync({ useClass: DPoPConfig })],
      providers: [OptionsReader],
    }).compile();
    expect(moduleRef.get(OptionsReader).options).toMatchObject({ required: true, proofTtl: 30 });
    expect(moduleRef.get(DPoPProofVerifier).replayWindowMs).toBe((30 + 60 + 1) * 1000);
    await moduleRef.close();
  });

  it('takes an existing DPoPOptionsFactory provider with useExisting', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        DPoPModule.forRootAsync({ imports: [ConfigHolderModule], useExisting: DPoPConfig }),
      ],
      providers: [OptionsReader],
    }).compile();
    expect(moduleRef.get(OptionsReader).options.required).toBe(true);
    await moduleRef.close();
  });

  it('refuses, at start-up, a factory that returns an unknown option', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          DPoPModule.forRootAsync({ useFactory: () => ({ requierd: true }) as DPoPModuleOptions }),
        ],
      }).compile(),
    ).rejects.toThrow(/Unknown DPoP option requierd \(did you mean required\?\)/);
  });

  it('@InjectDPoPOptions() gives the resolved options with defaults applied', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DPoPModule.forRoot({})],
      providers: [OptionsReader],
    }).compile();
    expect(moduleRef.get(OptionsReader).options).toMatchObject({
      enabled: true,
      required: false,
      forwardedHeaders: 'x-forwarded',
    });
    await moduleRef.close();
  });
});

describe('a bad DPOP_* value in a user app (issue 11, finding 8)', () => {
  const saved = process.env.DPOP_PROOF_TTL;
  let app: INestApplication | undefined;
  afterEach(async () => {
    if (saved === undefined) delete process.env.DPOP_PROOF_TTL;
    else process.env.DPOP_PROOF_TTL = saved;
    await app?.close();
    app = undefined;
  });

  // Defined while DPOP_PROOF_TTL is bad: nothing is read while the modules are declared.
  function declareApp(dpop: 'factory' | 'fromEnv') {
    @Module({
      imports: [
        dpop === 'factory'
          ? DPoPModule.forRootAsync({ useFactory: () => dpopOptionsFromEnv() })
          : DPoPModule.forRoot({ fromEnv: true, required: true }),
      ],
    })
    class UserAppModule {}
    return UserAppModule;
  }

  it.each(['factory', 'fromEnv'] as const)(
    'declaring the module does not throw; booting fails with a Nest start-up error naming the variable (%s)',
    async (dpop) => {
      process.env.DPOP_PROOF_TTL = 'two minutes';
      const UserAppModule = declareApp(dpop);
      const logger = new RecordingLogger();
      await expect(
        NestFactory.create(UserAppModule, { logger, abortOnError: false }),
      ).rejects.toThrow(
        /DPOP_PROOF_TTL must be a whole number of seconds from 1 to 3600, got "two minutes"/,
      );
      // Nest's own exception handler reports it, as for any provider that fails at start-up.
      expect(logger.lines.join('\n')).toMatch(/DPOP_PROOF_TTL/);
    },
  );

  it('boots with a good value, read at start-up', async () => {
    process.env.DPOP_PROOF_TTL = 'soon';
    const UserAppModule = declareApp('fromEnv');
    process.env.DPOP_PROOF_TTL = '45';
    app = await NestFactory.create(UserAppModule, { logger: false, abortOnError: false });
    expect(app.get(DPoPProofVerifier).replayWindowMs).toBe((45 + 60 + 1) * 1000);
  });
});

describe('issue 15: a long proof window starts with one warning line', () => {
  it.each([
    [{ proofTtl: 600 }, 1],
    [{ proofTtl: 600, clockSkew: 301 }, 2],
    [{ proofTtl: 300, clockSkew: 300 }, 0],
  ])('%j: %i warning(s) naming the option', async (options, count) => {
    @Module({ imports: [DPoPModule.forRoot(options)] })
    class WindowApp {}
    const logger = new RecordingLogger();
    const context = await NestFactory.createApplicationContext(WindowApp, { logger });
    await context.close();
    const warnings = logger.lines.filter((line) => /RFC 9449 §11\.1/.test(line));
    expect(warnings).toHaveLength(count);
    if (count > 0) expect(warnings[0]).toMatch(/^DPoP option proofTtl is 600 s/);
  });
});
