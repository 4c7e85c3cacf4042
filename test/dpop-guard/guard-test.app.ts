import { Controller, Get, HttpCode, Module, Post, Req, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import {
  DPoPBound,
  DPoPGuard,
  DPoPModule,
  DPoPProof,
  JKT,
  SkipDPoP,
  type DPoPModuleOptions,
  type VerifiedDPoPProof,
} from '@app/dpop';
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
    return { jkt: proof?.jkt ?? null, property: (req.dpop as VerifiedDPoPProof | undefined)?.jti ?? null };
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
    controllers: [GuardTestController],
    providers: [{ provide: APP_GUARD, useClass: DPoPGuard }],
  };
}

/** Boots the app on an ephemeral loopback port. */
export async function startGuardApp(
  options: DPoPModuleOptions | DynamicModule,
): Promise<{ app: INestApplication; base: string }> {
  const dpop = 'module' in options ? (options as DynamicModule) : DPoPModule.forRoot(options as DPoPModuleOptions);
  const app = await NestFactory.create(guardTestModule(dpop), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

/** An access token shaped like a JWT whose payload says it is bound to `jkt` (or unbound). */
export function accessToken(jkt?: string): string {
  return `${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${b64({ sub: 'agent-1', ...(jkt && { cnf: { jkt } }) })}.c2ln`;
}
