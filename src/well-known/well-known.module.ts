import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { WellKnownController } from './well-known.controller.js';

/** `/.well-known/arcp-configuration` and `/.well-known/jwks.json`. */
@Module({ imports: [AuthModule], controllers: [WellKnownController] })
export class WellKnownModule {}
