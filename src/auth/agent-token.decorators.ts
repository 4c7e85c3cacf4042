import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  UseGuards,
  type ExecutionContext,
} from '@nestjs/common';
import { AgentTokenGuard, AGENT_TOKEN_KIND, AUTHENTICATED_TOKEN } from './agent-token.guard.js';
import type { AgentTokenClaims, TokenKind } from './token.types.js';

/**
 * The route needs one of the server's own tokens, of this kind (checked after the DPoP guard).
 *
 * @example
 * ```ts
 * @AgentToken('access')
 * @Get(':agent_id')
 * get(@TokenClaims() claims: AgentTokenClaims) {}
 * ```
 */
export const AgentToken = (kind: TokenKind): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(AGENT_TOKEN_KIND, kind), UseGuards(AgentTokenGuard));

/** The verified claims of the request's token (routes with {@link AgentToken} only). */
export const TokenClaims = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AgentTokenClaims =>
    ctx.switchToHttp().getRequest<Record<symbol, AgentTokenClaims>>()[AUTHENTICATED_TOKEN]!,
);
