import { Body, Controller, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import { DPoPBound, JKT, dpopTokenResponse } from 'nest-dpop';
import { AgentToken, TokenClaims } from '../auth/agent-token.decorators.js';
import type { AgentTokenClaims } from '../auth/token.types.js';
import { AgentsService, type AgentView } from './agents.service.js';
import { RegisterAgentDto } from './dto/register-agent.dto.js';

/** Body of a successful registration. */
export interface RegistrationResponse {
  status: 'success';
  message: string;
  agent_id: string;
  access_token: string;
  token_type: 'DPoP' | 'Bearer';
  expires_in: number;
}

/** Phase 3 (`/agents/register`) and the agent's own routes. */
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post('register')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @AgentToken('validated')
  async register(
    @Body() body: RegisterAgentDto,
    @TokenClaims() claims: AgentTokenClaims,
  ): Promise<RegistrationResponse> {
    const { agent, access } = await this.agents.register(body, claims);
    return {
      status: 'success',
      message: `Agent '${agent.name}' registered successfully`,
      agent_id: agent.agent_id,
      // RFC 9449 §5's shape (token_type "DPoP") for a bound token; a bearer one otherwise.
      ...(access.tokenType === 'DPoP'
        ? dpopTokenResponse(access.token, { expiresIn: access.expiresIn })
        : { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn }),
    };
  }

  /** The agent's heartbeat: its own DPoP-bound access token and a proof from its key. */
  @Post(':agent_id/heartbeat')
  @HttpCode(200)
  @DPoPBound()
  @AgentToken('access')
  async heartbeat(
    @Param('agent_id') agentId: string,
    @TokenClaims() claims: AgentTokenClaims,
    @JKT() jkt: string | undefined,
  ): Promise<{ agent_id: string; status: string; last_seen: string }> {
    const agent = await this.agents.heartbeat(agentId, claims, jkt);
    return { agent_id: agent.agent_id, status: agent.status, last_seen: agent.last_seen };
  }

  /** The agent's own record: its own DPoP-bound access token and a proof from its key. */
  @Get(':agent_id')
  @DPoPBound()
  @AgentToken('access')
  get(
    @Param('agent_id') agentId: string,
    @TokenClaims() claims: AgentTokenClaims,
    @JKT() jkt: string | undefined,
  ): Promise<AgentView> {
    return this.agents.get(agentId, claims, jkt);
  }
}
