import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AgentsController } from './agents.controller.js';
import { AgentsService } from './agents.service.js';

/** Registration (phase 3) and the agents' own routes. */
@Module({
  imports: [AuthModule],
  controllers: [AgentsController],
  providers: [AgentsService],
})
export class AgentsModule {}
