import { Injectable, type ExecutionContext } from '@nestjs/common';
import { DPoPGuard, type DPoPError } from 'nest-dpop';
import type { ProblemException } from '../common/problem.exception.js';
import { AGENT_TOKEN_KIND } from './agent-token.guard.js';
import { tokenRejectedProblem, wrongKindProblem } from './token-problems.js';
import type { TokenKind } from './token.types.js';

/**
 * The library's `DPoPGuard`, which verifies the app's tokens too (the module's `accessToken`
 * option), with ARCP's answers to a refused token: 401 `token-invalid` ("Invalid or Expired
 * Token", with the app's `DPoP` and `Bearer` challenges) for a token that is not ours, was
 * altered or has expired, and 403 `token-invalid` for a genuine token of another kind at an
 * `@AgentToken` route (the library names `aud` as the failed claim: the signature, issuer and
 * expiry were good). Every other refusal (the proof, the binding, the store) is the library's.
 */
@Injectable()
export class ArcpDPoPGuard extends DPoPGuard {
  protected override handleRefusal(
    error: DPoPError,
    context: ExecutionContext,
  ): boolean | Promise<boolean> {
    const problem = context.getType() === 'http' ? this.tokenProblem(error, context) : undefined;
    if (problem !== undefined) throw problem;
    return super.handleRefusal(error, context);
  }

  private tokenProblem(error: DPoPError, context: ExecutionContext): ProblemException | undefined {
    if (error.code === 'ERR_DPOP_TOKEN_EXPIRED')
      return tokenRejectedProblem('expired', this.options);
    if (error.code !== 'ERR_DPOP_TOKEN_INVALID') return undefined;
    const kind = this.reflector.getAllAndOverride<TokenKind | undefined>(AGENT_TOKEN_KIND, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (error.claim === 'aud' && kind !== undefined) return wrongKindProblem(kind);
    return tokenRejectedProblem('invalid', this.options);
  }
}
