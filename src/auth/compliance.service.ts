import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import {
  ValidationStore,
  type ComplianceIssue,
  type ValidationRecord,
} from '../storage/validation-store.interface.js';
import type { ValidateComplianceDto } from './dto/validate-compliance.dto.js';
import { EndpointHealthChecker } from './endpoint-health.checker.js';

/** `val_` and 16 hex characters, as in ARCP. */
export const VALIDATION_ID = /^val_[0-9a-f]{16}$/;

/**
 * Runs compliance validations in the background, after the 202: the record is saved as
 * `pending`, the checks run on a later turn of the event loop, and the record becomes `passed`
 * or `failed`. Records expire: a pending or finished one lives the validated-token TTL plus a
 * minute, counted from its last change.
 */
@Injectable()
export class ComplianceService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ComplianceService.name);
  /** Checks under way, awaited at shutdown so none writes to a closed store. */
  private readonly running = new Set<Promise<void>>();

  constructor(
    @Inject(ValidationStore) private readonly store: ValidationStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly endpointChecker: EndpointHealthChecker,
  ) {}

  /** How long a validation record lives after its last change, in ms. */
  get recordTtlMs(): number {
    return (this.config.tokenTtl.validated + 60) * 1000;
  }

  /**
   * Saves a pending validation and schedules its checks.
   * @param jkt the key later tokens are bound to (from the temp token or a verified proof)
   */
  async start(request: ValidateComplianceDto, jkt: string | undefined): Promise<ValidationRecord> {
    const record: ValidationRecord = {
      validation_id: `val_${randomBytes(8).toString('hex')}`,
      agent_id: request.agent_id,
      agent_type: request.agent_type.toLowerCase(),
      endpoint: request.endpoint,
      capabilities: request.capabilities,
      communication_mode: request.communication_mode ?? 'remote',
      ...(request.version !== undefined && { version: request.version }),
      ...(jkt !== undefined && { jkt }),
      status: 'pending',
      errors: [],
      warnings: [],
      endpoint_check: 'skipped',
      created_at: Date.now(),
    };
    await this.store.create(record, this.recordTtlMs);

    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.run(record))
      .catch((error: unknown) =>
        this.logger.error(
          `Validation ${record.validation_id} could not be completed`,
          error instanceof Error ? error.stack : String(error),
        ),
      )
      .finally(() => this.running.delete(task));
    this.running.add(task);
    return record;
  }

  private async run(record: ValidationRecord): Promise<void> {
    const errors: ComplianceIssue[] = [];
    const warnings: ComplianceIssue[] = [];
    let endpointCheck: ValidationRecord['endpoint_check'] = 'skipped';

    const allowed = this.config.allowedAgentTypes;
    if (!allowed.includes(record.agent_type)) {
      const list = allowed.join(', ');
      errors.push({
        type: 'agent_type_not_allowed',
        message: `agent_type "${record.agent_type}" is not allowed. Allowed types: ${list}`,
        field: 'agent_type',
      });
    }
    if (new Set(record.capabilities).size !== record.capabilities.length) {
      warnings.push({
        type: 'duplicate_capabilities',
        message: 'capabilities lists an entry more than once',
      });
    }
    // Outbound requests only when asked for, and only for a request that is otherwise sound.
    if (this.config.endpointCheck.enabled && errors.length === 0) {
      const result = await this.endpointChecker.check(
        record.endpoint,
        record.agent_id,
        this.config.endpointCheck.timeoutMs,
      );
      errors.push(...result.errors);
      warnings.push(...result.warnings);
      endpointCheck = result.passed ? 'passed' : 'failed';
    }

    await this.store.save(
      {
        ...record,
        status: errors.length === 0 ? 'passed' : 'failed',
        errors,
        warnings,
        endpoint_check: endpointCheck,
        completed_at: Date.now(),
      },
      this.recordTtlMs,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.running);
  }
}
