import { Controller, Get, HttpCode, Module, Post, Req, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import {
  DPoPBound,
  DPoPGuard,
  DPoPModule,
  DPoPProof,
  DPoPTokenEndpoint,
  JKT,
  SkipDPoP,
  type DPoPModuleOptions,
  type VerifiedDPoPProof,
} from 'nest-dpop';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { b64 } from '../support/proofs.js';

/** Routes that show what the guard let through and what it attached. */
@Controller()
export class GuardTestController {
  @SkipDPoP()
  @Get('public')
  public() {
    return { ok: true };
  }

  @Post('items')
  @HttpCode(200)
  create(@DPoPProof() proof: VerifiedDPoPProof | undefined, @Req() req: Record<string, unknown>) {
    return {
      jkt: proof?.jkt ?? null,
      property: (req.dpop as VerifiedDPoPProof | undefined)?.jti ?? null,
    };
  }

  @DPoPTokenEndpoint()
  @Post('token')
  @HttpCode(200)
  token(@JKT() jkt: string | undefined) {
    return { jkt: jkt ?? null };
  }

  @DPoPBound()
  @Get('bound')
  bound(@JKT() jkt: string) {
    return { jkt };
  }
}

/** A real Nest app with the DPoP module configured as a test needs it. */
export function guardTestModule(dpop: DynamicModule): DynamicModule {
  @Module({})
  class GuardTestModule {}
  return {
    module: GuardTestModule,
    imports: [dpop],
    controllers: [GuardTestController, OpenController, LockedController],
    providers: [{ provide: APP_GUARD, useClass: DPoPGuard }],
  };
}

/** The HTTP platforms the guard must behave the same on. */
export type TestPlatform = 'express' | 'fastify';

/**
 * Boots the app on an ephemeral loopback port, on Express (default) or Fastify; `configure`
 * runs before `listen` (e.g. `app.enableCors(…)`, which Fastify accepts only then).
 */
export async function startGuardApp(
  options: DPoPModuleOptions | DynamicModule,
  platform: TestPlatform = 'express',
  configure?: (app: INestApplication) => void,
): Promise<{ app: INestApplication; base: string }> {
  const dpop = 'module' in options ? options : DPoPModule.forRoot(options);
  const module = guardTestModule(dpop);
  const app =
    platform === 'fastify'
      ? await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), {
          logger: false,
          abortOnError: false,
        })
      : await NestFactory.create(module, { logger: false, abortOnError: false });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

/** An access token shaped like a JWT whose payload says it is bound to `jkt` (or unbound). */
export function accessToken(jkt?: string): string {
  return `${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${b64({ sub: 'agent-1', ...(jkt && { cnf: { jkt } }) })}.c2ln`;
}

/** A base controller whose one route two subclasses inherit, with different class decorators. */
export class InheritedRoutes {
  @Get('whoami')
  whoami(@DPoPProof() proof: VerifiedDPoPProof | undefined) {
    return { jkt: proof?.jkt ?? null };
  }
}

@Controller('open')
export class OpenController extends InheritedRoutes {}

@DPoPBound()
@Controller('locked')
export class LockedController extends InheritedRoutes {}
