import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer } from 'node:net';
import {
  AccessTokenClaims,
  DPoPBound,
  DPoPGuard,
  DPoPModule,
  JKT,
  RequiredScopes,
  type DPoPModuleOptions,
  type VerifiedAccessToken,
} from 'nest-dpop';

/** A resource server as a user writes it: one import, decorators, no guard of its own. */
@Controller('api')
export class ResourceController {
  @DPoPBound()
  @Get('me')
  me(@JKT() jkt: string, @AccessTokenClaims() token: VerifiedAccessToken) {
    return { jkt, sub: token.sub ?? null, clientId: token.clientId ?? null, format: token.format };
  }

  @DPoPBound()
  @RequiredScopes('write')
  @Get('write')
  write(@AccessTokenClaims() token: VerifiedAccessToken) {
    return { scopes: token.scopes };
  }

  /** Neither bound nor scoped: a token, if sent, is still verified. */
  @Get('open')
  open(@AccessTokenClaims() token: VerifiedAccessToken | undefined) {
    return { sub: token?.sub ?? null };
  }
}

/** A second protected resource of the same server, for per-resource audiences. */
@Controller('tools')
export class ToolsController {
  @DPoPBound()
  @Get('me')
  me(@AccessTokenClaims() token: VerifiedAccessToken) {
    return { sub: token.sub ?? null };
  }
}

/** A free loopback port (so that publicUrl can be known before the app listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Boots the resource server on Express or Fastify at `port`. */
export async function startResourceServer(
  options: DPoPModuleOptions,
  platform: 'express' | 'fastify',
  port: number,
): Promise<INestApplication> {
  @Module({
    imports: [DPoPModule.forRoot(options)],
    controllers: [ResourceController, ToolsController],
    providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
  })
  class ResourceServerModule {}
  const app =
    platform === 'fastify'
      ? await NestFactory.create<NestFastifyApplication>(
          ResourceServerModule,
          new FastifyAdapter(),
          {
            logger: false,
            abortOnError: false,
          },
        )
      : await NestFactory.create(ResourceServerModule, { logger: false, abortOnError: false });
  await app.listen(port, '127.0.0.1');
  return app;
}
