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

/**
 * RFC 8707: a server that publishes several protected resources accepts at each only tokens
 * issued for it, so that one resource cannot replay a token it received against its neighbour.
 * `resource` is the identifier of the resource the request is for (`undefined`: the module-wide
 * `audience` check was all there is to do).
 */
export function checkResourceAudience(
  token: VerifiedAccessToken,
  resource: string | undefined,
): void {
  if (resource === undefined) return;
  const aud = token.claims.aud;
  if (aud === resource || (Array.isArray(aud) && aud.includes(resource))) return;
  throw new DPoPError(
    'ERR_DPOP_TOKEN_INVALID',
    'The access token is invalid: it was issued for another resource (aud)',
    { claim: 'aud' },
  );
}
