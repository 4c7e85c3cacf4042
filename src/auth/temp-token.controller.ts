import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import { DPoPProof, DPoPTokenEndpoint, type VerifiedDPoPProof } from 'nest-dpop';
import { Problems } from '../common/problems.js';
import { AgentKeyService } from './agent-key.service.js';
import { RequestTempTokenDto } from './dto/request-temp-token.dto.js';
import { TokenService } from './token.service.js';

/** Body of a successful `request_temp_token`. */
export interface TempTokenResponse {
  temp_token: string;
  token_type: 'DPoP' | 'Bearer';
  expires_in: number;
  message: string;
}

/**
 * Phase 1: an agent trades a registration key for a temp token. This is where the agent's DPoP
 * key is first seen: a verified proof here binds the temp token (`cnf.jkt`), and with it every
 * later token of the flow.
 */
@Controller('auth/agent')
export class TempTokenController {
  constructor(
    private readonly agentKeys: AgentKeyService,
    private readonly tokens: TokenService,
  ) {}

  // The token-issuing route: a missing server nonce is answered as RFC 9449 §8 says (400). A
  // proof is required when DPOP_REQUIRED is on; otherwise ARCP issues a bearer temp token to an
  // agent without one (as the reference server does), hence `required: false`.
  @DPoPTokenEndpoint({ required: false })
  @Post('request_temp_token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async requestTempToken(
    @Body() body: RequestTempTokenDto,
    // Only the proof the DPoP guard verified: never a thumbprint from the body.
    @DPoPProof() proof: VerifiedDPoPProof | undefined,
  ): Promise<TempTokenResponse> {
    if (!this.agentKeys.isValid(body.agent_key)) {
      throw Problems.authenticationFailed('Authentication failed: Invalid agent registration key');
    }
    const issued = await this.tokens.issue('temp', {
      agentId: body.agent_id,
      agentType: body.agent_type.toLowerCase(),
      ...(proof !== undefined && { jkt: proof.jkt }),
    });
    return {
      temp_token: issued.token,
      token_type: issued.tokenType,
      expires_in: issued.expiresIn,
      message: 'Temporary token issued. Use this token to complete agent registration.',
    };
  }
}

/**
 * {@link TempTokenController} for `DPOP_NONCE_REQUIRED=routes`: the token endpoint is where a
 * nonce matters most (RFC 9449 §8, §11.2: proofs made in advance by someone who briefly had the
 * key cannot then get tokens later, and every token of the flow is bound from here), so it alone
 * requires one; the other routes take proofs without. Chosen by `TempTokenModule`.
 */
@Controller('auth/agent')
export class NonceTempTokenController extends TempTokenController {
  @DPoPTokenEndpoint({ required: false, nonce: true })
  @Post('request_temp_token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  override requestTempToken(
    @Body() body: RequestTempTokenDto,
    @DPoPProof() proof: VerifiedDPoPProof | undefined,
  ): Promise<TempTokenResponse> {
    return super.requestTempToken(body, proof);
  }
}
