import type { ResolvedDPoPOptions } from 'nest-dpop';
import { Problems } from '../common/problems.js';
import type { ProblemException } from '../common/problem.exception.js';
import { authChallenge } from './challenge.util.js';
import { TOKEN_AUDIENCE, type TokenKind } from './token.types.js';

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

/** 403 `token-invalid`: a genuine token of another kind than the route takes (token mixing). */
export function wrongKindProblem(kind: TokenKind): ProblemException {
  return Problems.tokenWrongKind(WRONG_KIND[kind].title, WRONG_KIND[kind].detail, {
    expected_audience: TOKEN_AUDIENCE[kind],
  });
}

/** 401 `token-invalid`: the token is not ours, was altered, or has expired. */
export function tokenRejectedProblem(
  reason: 'expired' | 'invalid',
  dpop: ResolvedDPoPOptions,
): ProblemException {
  return Problems.tokenRejected(
    reason === 'expired' ? 'Token has expired' : 'Token is invalid or expired',
    { 'WWW-Authenticate': authChallenge(dpop, 'invalid_token') },
  );
}
