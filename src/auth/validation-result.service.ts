import { Inject, Injectable } from '@nestjs/common';
import { DPoPError, DPoPExceptionFactory } from 'nest-dpop';
import { Problems } from '../common/problems.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ValidationStore, type ComplianceIssue } from '../storage/validation-store.interface.js';
import { VALIDATION_ID } from './compliance.service.js';
import { TokenService } from './token.service.js';
import type { AgentTokenClaims } from './token.types.js';

/** Seconds a client should wait between polls. */
export const VALIDATION_RETRY_AFTER = 2;

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

/** Who asks for a validation's result. */
export interface ValidationPoll {
  validationId: string;
  /** The verified temp token's claims. */
  claims: AgentTokenClaims;
  /** The thumbprint of the verified DPoP proof sent with the poll, if any. */
  proofJkt: string | undefined;
  /** The problem `instance` of a refusal: the request path. */
  instance: string | undefined;
}

/**
 * Phase 2's result: who may collect it (the agent, and the holder of the key the validation is
 * bound to), and the validated token issued once it passed.
 */
@Injectable()
export class ValidationResultService {
  constructor(
    private readonly tokens: TokenService,
    private readonly dpopErrors: DPoPExceptionFactory,
    @Inject(ValidationStore) private readonly store: ValidationStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The poll's answer.
   * @throws a problem: 404 unknown or expired, 403 another agent's, 401 a DPoP binding refusal
   */
  async poll({
    validationId,
    claims,
    proofJkt,
    instance,
  }: ValidationPoll): Promise<ValidationStatus> {
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
      throw this.dpopErrors.create(
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
      return {
        status: 'pending',
        validation_id: record.validation_id,
        message: 'Validation in progress',
        retry_after: VALIDATION_RETRY_AFTER,
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
