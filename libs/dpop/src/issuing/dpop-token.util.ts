import type { VerifiedDPoPProof } from '../verifier/dpop-proof.types.js';

/** The claim that binds an access token to a key: `cnf.jkt` (RFC 9449 §6.1). */
export interface DPoPBindingClaims {
  cnf: { jkt: string };
}

/** A token response for a DPoP-bound access token (RFC 9449 §5, RFC 6749 §5.1). */
export interface DPoPTokenResponse {
  access_token: string;
  /** `DPoP`: the client sends the token as `Authorization: DPoP <token>` with a proof. */
  token_type: 'DPoP';
  /** Lifetime of the access token in seconds. */
  expires_in: number;
  refresh_token?: string;
  scope?: string;
}

/**
 * The claims to put in an access token to bind it to the key of the proof the guard verified:
 * `{ cnf: { jkt } }`, to spread into the payload you sign (`@nestjs/jwt`, jose's `SignJWT`).
 * Take the thumbprint only from a verified proof (`@DPoPProof()` / `@JKT()` on a
 * `@DPoPTokenEndpoint()` route), never from the request body.
 *
 * @example
 * ```ts
 * @DPoPTokenEndpoint()
 * @Post('token')
 * async token(@DPoPProof() proof: VerifiedDPoPProof): Promise<DPoPTokenResponse> {
 *   const accessToken = await this.jwt.signAsync({ sub: 'agent-1', ...dpopBinding(proof) });
 *   return dpopTokenResponse(accessToken, { expiresIn: 300 });
 * }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.1
 */
export function dpopBinding(proof: Pick<VerifiedDPoPProof, 'jkt'> | string): DPoPBindingClaims {
  const jkt = typeof proof === 'string' ? proof : proof?.jkt;
  // A SHA-256 thumbprint, base64url: 43 characters. Anything else would bind to nothing.
  if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) {
    throw new TypeError(
      'dpopBinding() needs the verified proof (or its jkt thumbprint): is the route a ' +
        '@DPoPTokenEndpoint() whose proof the guard verified?',
    );
  }
  return { cnf: { jkt } };
}

/**
 * The token response for a DPoP-bound access token: `token_type: "DPoP"` (RFC 9449 §5), with
 * `expires_in` and, when given, `refresh_token` and `scope`. Send it with
 * `Cache-Control: no-store` (RFC 6749 §5.1).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
export function dpopTokenResponse(
  accessToken: string,
  options: { expiresIn: number; refreshToken?: string; scope?: string },
): DPoPTokenResponse {
  return {
    access_token: accessToken,
    token_type: 'DPoP',
    expires_in: options.expiresIn,
    ...(options.refreshToken !== undefined && { refresh_token: options.refreshToken }),
    ...(options.scope !== undefined && { scope: options.scope }),
  };
}
