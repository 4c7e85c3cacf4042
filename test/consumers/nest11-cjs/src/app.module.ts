import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DPoPGuard, DPoPModule, JKT } from 'nest-dpop';

@Controller()
export class MeController {
  @Get('me')
  me(@JKT() jkt: string | undefined): { jkt: string | null } {
    return { jkt: jkt ?? null };
  }
}

@Module({
  imports: [
    DPoPModule.forRoot({
      required: true,
      // The one origin clients use: htu naming any other is refused (and no start-up warning).
      allowedOrigins: [`http://127.0.0.1:${process.env.PORT ?? '3000'}`],
    }),
  ],
  controllers: [MeController],
  providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
})
export class AppModule {}
