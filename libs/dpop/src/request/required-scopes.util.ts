import type { VerifiedAccessToken } from '../access-token/access-token.types.js';
import { DPoPError } from '../errors/dpop.errors.js';

/**
 * RFC 6750 §3.1: the verified token must grant every scope the route requires (403
 * `insufficient_scope` otherwise); no token at all is a 401.
 */
export function checkScopes(
  token: VerifiedAccessToken | undefined,
  scopes: readonly string[],
): void {
  if (token === undefined) {
    throw new DPoPError('ERR_DPOP_TOKEN_REQUIRED', 'This endpoint requires an access token', {
      scope: scopes.join(' '),
    });
  }
  if (!scopes.every((scope) => token.scopes.includes(scope))) {
    throw new DPoPError(
      'ERR_DPOP_INSUFFICIENT_SCOPE',
      'The access token does not grant the scope this endpoint requires',
      { scope: scopes.join(' ') },
    );
  }
}
