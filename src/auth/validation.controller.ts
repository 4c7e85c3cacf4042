import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { JKT } from 'nest-dpop';
import { Problems } from '../common/problems.js';
import { publicBaseUrl, type BaseUrlRequest } from '../common/public-url.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { AgentToken, TokenClaims } from './agent-token.decorators.js';
import { ComplianceService } from './compliance.service.js';
import { ValidateComplianceDto } from './dto/validate-compliance.dto.js';
import type { AgentTokenClaims } from './token.types.js';
import {
  VALIDATION_RETRY_AFTER as RETRY_AFTER,
  ValidationResultService,
  type ValidationStatus,
} from './validation-result.service.js';

export type { ValidationStatus } from './validation-result.service.js';

interface HeaderResponse {
  setHeader(name: string, value: string): unknown;
}

/** The 202 body of `validate_compliance`. */
export interface ValidationAccepted {
  status: 'pending';
  validation_id: string;
  message: string;
  polling_url: string;
  retry_after: number;
}

/**
 * Phase 2: compliance validation with the temp token. The key binding carries over: the temp
 * token's `cnf.jkt` if it has one, else the key of the verified proof sent here.
 */
@Controller('auth/agent')
@AgentToken('temp')
export class ValidationController {
  constructor(
    private readonly compliance: ComplianceService,
    private readonly results: ValidationResultService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('validate_compliance')
  @HttpCode(202)
  async validate(
    @Body() body: ValidateComplianceDto,
    @TokenClaims() claims: AgentTokenClaims,
    @JKT() proofJkt: string | undefined,
    @Req() request: BaseUrlRequest,
    @Res({ passthrough: true }) response: HeaderResponse,
  ): Promise<ValidationAccepted> {
    if (body.agent_id !== claims.agent_id) {
      throw Problems.invalidInput(
        'agent_id',
        'Invalid agent_id: agent_id in request must match token',
      );
    }
    // The binding rule. When the temp token is bound, the DPoP guard has already made sure the
    // proof is from that key; when it is not, the first verified proof names the key.
    const jkt = claims.cnf?.jkt ?? proofJkt;
    const record = await this.compliance.start(body, jkt);

    const base = publicBaseUrl(this.config.publicUrl, request, this.config.port);
    const pollingUrl = `${base}/auth/agent/validation/${record.validation_id}`;
    response.setHeader('Location', pollingUrl);
    response.setHeader('Retry-After', String(RETRY_AFTER));
    return {
      status: 'pending',
      validation_id: record.validation_id,
      message: 'Validation in progress. Poll the status endpoint for results.',
      polling_url: pollingUrl,
      retry_after: RETRY_AFTER,
    };
  }

  @Get('validation/:validation_id')
  @Header('Cache-Control', 'no-store')
  async status(
    @Param('validation_id') validationId: string,
    @TokenClaims() claims: AgentTokenClaims,
    @JKT() proofJkt: string | undefined,
    @Req() request: { originalUrl?: string },
    @Res({ passthrough: true }) response: HeaderResponse,
  ): Promise<ValidationStatus> {
    const result = await this.results.poll({
      validationId,
      claims,
      proofJkt,
      instance: request.originalUrl?.split('?')[0],
    });
    if (result.status === 'pending') response.setHeader('Retry-After', String(RETRY_AFTER));
    return result;
  }
}
