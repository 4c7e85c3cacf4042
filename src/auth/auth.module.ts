import { Module } from '@nestjs/common';
import { AgentKeyService } from './agent-key.service.js';
import { AgentTokenGuard } from './agent-token.guard.js';
import { ComplianceService } from './compliance.service.js';
import { EndpointHealthChecker } from './endpoint-health.checker.js';
import { ServerKeyService } from './server-key.service.js';
import { TokenService } from './token.service.js';
import { ValidationController } from './validation.controller.js';
import { ValidationResultService } from './validation-result.service.js';

/**
 * Phase 2 of registration, and the server's tokens (exported for the other routes). Phase 1's
 * route is `TempTokenModule`'s, whose controller depends on the configuration.
 */
@Module({
  controllers: [ValidationController],
  providers: [
    AgentKeyService,
    AgentTokenGuard,
    ComplianceService,
    EndpointHealthChecker,
    ServerKeyService,
    TokenService,
    ValidationResultService,
  ],
  exports: [AgentKeyService, AgentTokenGuard, ServerKeyService, TokenService],
})
export class AuthModule {}
