import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  DPoPError,
  DPoPExceptionFactory,
  DPOP_RESOLVED_OPTIONS,
  type ResolvedDPoPOptions,
  type VerifiedDPoPProof,
} from 'nest-dpop';
import { Problems } from '../common/problems.js';
import { parseAuthorization, type PresentedAccessToken } from './authorization-header.js';
import { authChallenge } from './challenge.util.js';
import { TokenRejectedError, TokenService } from './token.service.js';
import { TOKEN_AUDIENCE, type AgentTokenClaims, type TokenKind } from './token.types.js';

/** Metadata key set by `@AgentToken(kind)`. */
export const AGENT_TOKEN_KIND = 'arcp:token-kind';

/** Where the verified claims are put on the request. */
export const AUTHENTICATED_TOKEN = Symbol('arcp.token');

/** What a token of the wrong kind is told, per route kind (ARCP's titles and details). */
const WRONG_KIND: Record<TokenKind, { title: string; detail: string }> = {
  temp: {
    title: 'Invalid Token for Validation',
    detail:
      "Validation requires a temp token with audience 'arcp:validate' (from /auth/agent/request_temp_token)",
  },
  validated: {
    title: 'Invalid Token for Registration',
    detail:
      "Registration requires validated token with audience 'arcp:register'. " +
      'Please complete validation first via /auth/agent/validate_compliance',
  },
  access: {
    title: 'Invalid Token for Agent Operations',
    detail:
      "Agent operations require an access token with audience 'arcp:operations' (from /agents/register)",
  },
};

/**
 * Authenticates the server's own tokens; runs after the global `DPoPGuard`, which has already
 * checked any proof (signature, `htm`/`htu`, `ath`, replay, and the key against `cnf.jkt`).
 *
 * Order: credentials present (401) → signature, issuer, expiry (401) → audience and type
 * (403: a genuine token used at the wrong step) → key binding. The binding is checked here too,
 * not only by the DPoP guard, so that a bound token is never honoured without a verified proof
 * of its key, even with `DPOP_ENABLED=false` (when the DPoP guard does nothing).
 */
@Injectable()
export class AgentTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly dpopErrors: DPoPExceptionFactory,
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly dpop: ResolvedDPoPOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.getAllAndOverride<TokenKind | undefined>(AGENT_TOKEN_KIND, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (kind === undefined) return true;
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | string[] | undefined>;
      originalUrl?: string;
      [key: string | symbol]: unknown;
    }>();

    const presented = this.presented(request.headers.authorization);
    let claims: AgentTokenClaims;
    try {
      claims = await this.tokens.verify(presented.token);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      throw Problems.tokenRejected(error.message, {
        'WWW-Authenticate': authChallenge(this.dpop, 'invalid_token'),
      });
    }

    if (claims.aud !== TOKEN_AUDIENCE[kind] || claims.token_type !== kind) {
      throw Problems.tokenWrongKind(WRONG_KIND[kind].title, WRONG_KIND[kind].detail, {
        expected_audience: TOKEN_AUDIENCE[kind],
      });
    }

    const boundJkt = claims.cnf?.jkt;
    if (boundJkt !== undefined) {
      // Where the guard put the verified proof (`req.dpop` unless configured otherwise).
      const proof = request[this.dpop.requestProperty] as VerifiedDPoPProof | undefined;
      const instance = request.originalUrl?.split('?')[0];
      if (proof === undefined) {
        throw this.dpopErrors.create(
          new DPoPError(
            'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
            'A DPoP-bound access token requires a DPoP proof header',
          ),
          instance,
        );
      }
      if (proof.jkt !== boundJkt) {
        throw this.dpopErrors.create(
          new DPoPError('ERR_DPOP_BINDING_MISMATCH', 'Token JKT does not match DPoP proof'),
          instance,
        );
      }
    }

    request[AUTHENTICATED_TOKEN] = claims;
    return true;
  }

  private presented(header: string | string[] | undefined): PresentedAccessToken {
    const presented = parseAuthorization(header);
    if (presented === undefined) {
      throw Problems.authenticationFailed(
        'A DPoP or Bearer token is required in the Authorization header',
        { 'WWW-Authenticate': authChallenge(this.dpop) },
      );
    }
    return presented;
  }
}
