import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ProblemException, RequestValidationException } from '../common/problem.exception.js';
import { Problems } from '../common/problems.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { TokenService } from '../auth/token.service.js';
import type { AgentTokenClaims, IssuedToken } from '../auth/token.types.js';
import { AgentRegistry, type AgentRecord } from '../storage/agent-registry.interface.js';
import { ValidationStore } from '../storage/validation-store.interface.js';
import type { RegisterAgentDto } from './dto/register-agent.dto.js';

/** A registered agent as the API shows it. */
export interface AgentView extends Omit<AgentRecord, 'registered_at' | 'last_seen'> {
  status: 'alive' | 'inactive';
  registered_at: string;
  last_seen: string;
}

/** Phase 3 and the agent's own operations. */
@Injectable()
export class AgentsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ValidationStore) private readonly validations: ValidationStore,
    @Inject(AgentRegistry) private readonly registry: AgentRegistry,
    private readonly tokens: TokenService,
  ) {}

  private get aliveMs(): number {
    return this.config.heartbeatTimeout * 1000;
  }

  /**
   * Registers the agent the validated token speaks for. The body is checked against the
   * validation first (so a typo does not spend the token); then the validation is consumed,
   * atomically, and only the first caller gets past that point.
   */
  async register(
    body: RegisterAgentDto,
    claims: AgentTokenClaims,
  ): Promise<{ agent: AgentRecord; access: IssuedToken }> {
    if (body.agent_id !== claims.agent_id) {
      throw Problems.insufficientPermissions('Agents can only register themselves');
    }
    const agentType = body.agent_type.toLowerCase();
    const allowed = this.config.allowedAgentTypes;
    if (!allowed.includes(agentType)) {
      throw new RequestValidationException([
        {
          field: 'agent_type',
          messages: [
            `agent_type "${body.agent_type}" is not allowed. Allowed types: ${allowed.join(', ')}`,
          ],
        },
      ]);
    }

    const validationId = claims.validation_id;
    const validation =
      validationId === undefined ? undefined : await this.validations.get(validationId);
    if (validationId === undefined || validation === undefined || validation.status !== 'passed') {
      throw this.validationRefused(401, 'NO_VALIDATION', 'Validation not found or expired', claims);
    }
    // The token attests this validation; what is registered must be what was validated.
    if (validation.agent_type !== agentType) {
      throw Problems.invalidInput(
        'agent_type',
        'agent_type must be the one that passed validation',
      );
    }
    if (validation.endpoint !== body.endpoint) {
      throw Problems.invalidInput('endpoint', 'endpoint must be the one that passed validation');
    }

    // Consumed before the registry is asked, so that a second use is always "already used",
    // whatever else changed. A registration then refused as a duplicate has spent its validation.
    const markTtlMs = (this.config.tokenTtl.validated + 60) * 1000;
    if (!(await this.validations.consume(validationId, markTtlMs))) {
      throw this.validationRefused(
        403,
        'ALREADY_USED',
        'Validation token already used (replay attack prevented)',
        claims,
      );
    }

    // The binding carries over from the validated token, which the guards have matched to this
    // request's proof; a body can never choose it.
    const jkt = claims.cnf?.jkt;
    const now = Date.now();
    const agent: AgentRecord = {
      agent_id: body.agent_id,
      name: body.name,
      agent_type: agentType,
      endpoint: body.endpoint,
      capabilities: body.capabilities,
      context_brief: body.context_brief,
      owner: body.owner,
      public_key: body.public_key,
      metadata: body.metadata,
      version: body.version,
      communication_mode: body.communication_mode,
      ...(jkt !== undefined && { dpop_jkt: jkt }),
      validation_id: validationId,
      registration_id: `reg_${randomBytes(16).toString('hex')}`,
      registered_at: now,
      last_seen: now,
    };
    // Atomic too: two validations racing for one live agent_id cannot both register.
    if (!(await this.registry.register(agent, this.aliveMs))) {
      throw Problems.duplicateAgent(body.agent_id);
    }

    const access = await this.tokens.issue('access', {
      agentId: agent.agent_id,
      agentType: agent.agent_type,
      registrationId: agent.registration_id,
      ...(jkt !== undefined && { jkt }),
    });
    return { agent, access };
  }

  /** The agent, for its own access token only. */
  async get(
    agentId: string,
    claims: AgentTokenClaims,
    jkt: string | undefined,
  ): Promise<AgentView> {
    const agent = await this.own(agentId, claims, jkt, 'Agents can only read their own record');
    return this.view(agent);
  }

  async heartbeat(
    agentId: string,
    claims: AgentTokenClaims,
    jkt: string | undefined,
  ): Promise<AgentView> {
    await this.own(agentId, claims, jkt, 'Agents can only update their own heartbeat');
    const agent = await this.registry.touch(agentId, Date.now());
    if (agent === undefined) throw Problems.agentNotFound(agentId);
    return this.view(agent);
  }

  private async own(
    agentId: string,
    claims: AgentTokenClaims,
    jkt: string | undefined,
    refusal: string,
  ): Promise<AgentRecord> {
    if (claims.agent_id !== agentId) throw Problems.insufficientPermissions(refusal);
    const agent = await this.registry.get(agentId);
    if (agent === undefined) throw Problems.agentNotFound(agentId);
    // The token must be for this very registration, not an earlier one of the same agent_id
    // (after a heartbeat timeout anyone with a registration key may register the id again). In
    // every DPoP mode: a Bearer token has no key to tell the two owners apart.
    if (claims.registration_id === undefined || claims.registration_id !== agent.registration_id) {
      throw this.registrationSuperseded(agentId);
    }
    // Defence in depth: the agent's registered key, not only the token's, must sign the proof.
    if (agent.dpop_jkt !== undefined && agent.dpop_jkt !== jkt) {
      throw Problems.insufficientPermissions(
        'The DPoP key does not match the key this agent registered with',
      );
    }
    return agent;
  }

  private registrationSuperseded(agentId: string): ProblemException {
    return new ProblemException(
      'token-invalid',
      'Invalid or Expired Token',
      401,
      `This token was issued for an earlier registration of agent ${agentId}; register again`,
      { agent_id: agentId, error_code: 'REGISTRATION_SUPERSEDED' },
    );
  }

  private view(agent: AgentRecord): AgentView {
    return {
      ...agent,
      status: agent.last_seen > Date.now() - this.aliveMs ? 'alive' : 'inactive',
      registered_at: new Date(agent.registered_at).toISOString(),
      last_seen: new Date(agent.last_seen).toISOString(),
    };
  }

  private validationRefused(
    status: 401 | 403,
    code: string,
    detail: string,
    claims: AgentTokenClaims,
  ): ProblemException {
    return new ProblemException('token-invalid', 'Invalid or Expired Token', status, detail, {
      agent_id: claims.agent_id,
      ...(claims.validation_id !== undefined && { validation_id: claims.validation_id }),
      error_code: code,
    });
  }
}
