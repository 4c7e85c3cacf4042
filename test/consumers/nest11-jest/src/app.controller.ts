import { Controller, Get } from '@nestjs/common';
import { JKT } from 'nest-dpop';
import { AppService } from './app.service';

@Controller()
export class AppController {
  constructor(private readonly appService: AppService) {}

  @Get()
  getHello(): string {
    return this.appService.getHello();
  }

  // Added: the thumbprint of the key that signed the request's proof.
  @Get('me')
  me(@JKT() jkt: string | undefined): { jkt: string | null } {
    return { jkt: jkt ?? null };
  }
}
