import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { DPOP_ACCESS_TOKEN_RESULT, DPOP_SCOPES_KEY } from '../options/dpop.constants.js';
import { httpRequestOf } from '../http/execution-context.util.js';
import type { VerifiedAccessToken } from './access-token.types.js';

/**
 * The route (or every route of the controller) needs an access token granting every scope
 * listed; scopes on a method and on its class all apply. Needs the module's `accessToken`
 * option. Without a token: 401; without a scope: 403 with
 * `WWW-Authenticate: DPoP error="insufficient_scope", scope="…"` (RFC 6750 §3.1).
 *
 * @example
 * ```ts
 * @RequiredScopes('agents:write')
 * @Post('agents')
 * create(@AccessTokenClaims() token: VerifiedAccessToken) {}
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
export const RequiredScopes = (...scopes: string[]): MethodDecorator & ClassDecorator => {
  for (const scope of scopes) {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) {
      throw new Error(`RequiredScopes: ${JSON.stringify(scope)} is not a valid scope`);
    }
  }
  return SetMetadata(DPOP_SCOPES_KEY, scopes);
};

/**
 * The access token the guard verified ({@link VerifiedAccessToken}: `sub`, `clientId`,
 * `scopes`, `jkt`, the raw `claims`), or `undefined` when the request had none. Needs the
 * module's `accessToken` option.
 *
 * @example
 * ```ts
 * @DPoPBound()
 * @Get('me')
 * me(@AccessTokenClaims() token: VerifiedAccessToken) { return { sub: token.sub }; }
 * ```
 */
export const AccessTokenClaims = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): VerifiedAccessToken | undefined =>
    httpRequestOf(ctx)?.[DPOP_ACCESS_TOKEN_RESULT] as VerifiedAccessToken | undefined,
);
