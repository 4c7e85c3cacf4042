import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  DPoPError,
  DPoPExceptionFactory,
  DPOP_RESOLVED_OPTIONS,
  type ResolvedDPoPOptions,
  type VerifiedAccessToken,
  type VerifiedDPoPProof,
} from 'nest-dpop';
import { Problems } from '../common/problems.js';
import { parseAuthorization, type PresentedAccessToken } from './authorization-header.js';
import { authChallenge } from './challenge.util.js';
import { tokenRejectedProblem, wrongKindProblem } from './token-problems.js';
import { TokenRejectedError, TokenService } from './token.service.js';
import { TOKEN_AUDIENCE, type AgentTokenClaims, type TokenKind } from './token.types.js';

/** Metadata key set by `@AgentToken(kind)`. */
export const AGENT_TOKEN_KIND = 'arcp:token-kind';

/** Where the verified claims are put on the request. */
export const AUTHENTICATED_TOKEN = Symbol('arcp.token');

/**
 * ARCP's rules for the server's own tokens; runs after the global DPoP guard, which has already
 * verified the token (the module's `accessToken` option: signature, issuer, expiry, an audience
 * of one of the three kinds, once per token string) and checked any proof (signature,
 * `htm`/`htu`, `ath`, replay, and the key against the verified `cnf.jkt`). Its refusals of the
 * token are ARCP's problems already (see `ArcpDPoPGuard`).
 *
 * Here: credentials present (401) → the claims ARCP's tokens carry (401) → kind: audience and
 * `token_type` (403: a genuine token used at the wrong step) → key binding. With
 * `DPOP_ENABLED=false` the DPoP guard does nothing, so the token is verified here instead, and
 * the binding is checked here too, so that a bound token is never honoured without a verified
 * proof of its key.
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
      claims = await this.claimsOf(request, presented.token);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      throw tokenRejectedProblem(error.reason, this.dpop);
    }

    if (claims.aud !== TOKEN_AUDIENCE[kind] || claims.token_type !== kind) {
      throw wrongKindProblem(kind);
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

  /**
   * The claims of the token the DPoP guard verified for this request; verified here only when
   * the guard did not (DPoP off), never taken unverified.
   */
  private async claimsOf(
    request: Record<string | symbol, unknown>,
    token: string,
  ): Promise<AgentTokenClaims> {
    const property = this.dpop.accessToken?.requestProperty;
    const verified = property === undefined ? undefined : request[property];
    if (verified === undefined) return this.tokens.verify(token);
    return this.tokens.claimsOf((verified as VerifiedAccessToken).claims);
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
