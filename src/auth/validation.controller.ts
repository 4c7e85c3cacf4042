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
import {
  createDPoPExceptionFactory,
  DPoPError,
  DPOP_RESOLVED_OPTIONS,
  JKT,
  type ResolvedDPoPOptions,
} from 'nest-dpop';
import { Problems } from '../common/problems.js';
import { publicBaseUrl, type BaseUrlRequest } from '../common/public-url.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ValidationStore, type ComplianceIssue } from '../storage/validation-store.interface.js';
import { AgentToken, TokenClaims } from './agent-token.decorators.js';
import { ComplianceService, VALIDATION_ID } from './compliance.service.js';
import { ValidateComplianceDto } from './dto/validate-compliance.dto.js';
import { TokenService } from './token.service.js';
import type { AgentTokenClaims } from './token.types.js';

/** Seconds a client should wait between polls. */
const RETRY_AFTER = 2;

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

/** The body of a poll. */
export type ValidationStatus =
  | { status: 'pending'; validation_id: string; message: string; retry_after: number }
  | {
      status: 'failed';
      validation_id: string;
      message: string;
      errors: ComplianceIssue[];
      warnings: ComplianceIssue[];
      endpoint_check: string;
      duration_ms: number;
    }
  | {
      status: 'passed';
      validation_id: string;
      message: string;
      validated_token: string;
      token_type: 'DPoP' | 'Bearer';
      expires_in: number;
      warnings: ComplianceIssue[];
      endpoint_check: string;
      duration_ms: number;
    };

/**
 * Phase 2: compliance validation with the temp token. The key binding carries over: the temp
 * token's `cnf.jkt` if it has one, else the key of the verified proof sent here.
 */
@Controller('auth/agent')
@AgentToken('temp')
export class ValidationController {
  private readonly dpopException: ReturnType<typeof createDPoPExceptionFactory>;

  constructor(
    private readonly compliance: ComplianceService,
    private readonly tokens: TokenService,
    @Inject(ValidationStore) private readonly store: ValidationStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DPOP_RESOLVED_OPTIONS) dpop: ResolvedDPoPOptions,
  ) {
    this.dpopException = createDPoPExceptionFactory(dpop);
  }

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
    const notFound = (): Error =>
      Problems.notFound(`Validation ${validationId} not found or expired`);
    const record = VALIDATION_ID.test(validationId)
      ? await this.store.get(validationId)
      : undefined;
    if (record === undefined) throw notFound();
    if (record.agent_id !== claims.agent_id) {
      throw Problems.forbidden('Not authorized to access this validation');
    }
    // A key first seen at validate_compliance binds the result: only its holder may collect it.
    if (record.jkt !== undefined && proofJkt !== record.jkt) {
      const instance = request.originalUrl?.split('?')[0];
      throw this.dpopException(
        proofJkt === undefined
          ? new DPoPError(
              'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
              'This validation is bound to a DPoP key: send a proof',
            )
          : new DPoPError(
              'ERR_DPOP_BINDING_MISMATCH',
              'DPoP proof key does not match the validation binding',
            ),
        instance,
      );
    }

    if (record.status === 'pending') {
      response.setHeader('Retry-After', String(RETRY_AFTER));
      return {
        status: 'pending',
        validation_id: record.validation_id,
        message: 'Validation in progress',
        retry_after: RETRY_AFTER,
      };
    }
    const durationMs = (record.completed_at ?? record.created_at) - record.created_at;
    if (record.status === 'failed') {
      return {
        status: 'failed',
        validation_id: record.validation_id,
        message: 'Validation failed',
        errors: record.errors,
        warnings: record.warnings,
        endpoint_check: record.endpoint_check,
        duration_ms: durationMs,
      };
    }

    // A validated token never outlives its validation's window, however late it is collected.
    const notAfter = record.completed_at! + this.config.tokenTtl.validated * 1000;
    if (notAfter - Date.now() < 1000) throw notFound();
    const issued = await this.tokens.issue('validated', {
      agentId: record.agent_id,
      agentType: record.agent_type,
      validationId: record.validation_id,
      notAfter,
      ...(record.jkt !== undefined && { jkt: record.jkt }),
    });
    return {
      status: 'passed',
      validation_id: record.validation_id,
      message: 'Validation passed',
      validated_token: issued.token,
      token_type: issued.tokenType,
      expires_in: issued.expiresIn,
      warnings: record.warnings,
      endpoint_check: record.endpoint_check,
      duration_ms: durationMs,
    };
  }
}
