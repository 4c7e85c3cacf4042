import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import {
  DPOP_BOUND_KEY,
  DPOP_REQUEST_RESULT,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
} from '../options/dpop.constants.js';
import { httpRequestOf } from '../http/execution-context.util.js';
import type { VerifiedDPoPProof } from '../verifier/dpop-proof.verifier.js';

/**
 * The route (or every route of the controller) needs a DPoP-bound access token (`cnf.jkt`) and
 * a valid proof from that key, whether DPoP is optional or required globally.
 *
 * @example
 * ```ts
 * @DPoPBound()
 * @Post(':id/heartbeat')
 * heartbeat(@JKT() jkt: string) {}
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 */
export const DPoPBound = (): MethodDecorator & ClassDecorator => SetMetadata(DPOP_BOUND_KEY, true);

/**
 * The guard does not check DPoP on this route (or controller), even when `required` is on:
 * for public routes such as health checks and discovery documents.
 *
 * @example
 * ```ts
 * @SkipDPoP()
 * @Get('health')
 * health() {}
 * ```
 */
export const SkipDPoP = (): MethodDecorator & ClassDecorator => SetMetadata(DPOP_SKIP_KEY, true);

/**
 * Marks a token-issuing route (an authorization server's token endpoint, RFC 9449 §5). The only
 * difference: when server nonces are on, a proof without the current nonce is answered as
 * RFC 9449 §8 says for token endpoints, with 400 `{"error":"use_dpop_nonce"}` and a `DPoP-Nonce`
 * header, instead of the 401 challenge of resource routes.
 *
 * @example
 * ```ts
 * @DPoPTokenEndpoint()
 * @Post('token')
 * token(@JKT() jkt: string | undefined) {}
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export const DPoPTokenEndpoint = (): MethodDecorator & ClassDecorator =>
  SetMetadata(DPOP_TOKEN_ENDPOINT_KEY, true);

/** The proof the guard verified, on the HTTP request of an `http` or `graphql` context. */
function verifiedProof(ctx: ExecutionContext): VerifiedDPoPProof | undefined {
  return httpRequestOf(ctx)?.[DPOP_REQUEST_RESULT] as VerifiedDPoPProof | undefined;
}

/**
 * The RFC 7638 thumbprint of the key that signed this request's verified proof, or `undefined`
 * when no proof was verified (combine with `@DPoPBound()` to make it always present). Works in
 * controllers and in GraphQL resolvers (over HTTP).
 *
 * @example
 * ```ts
 * @DPoPBound()
 * @Get('me')
 * me(@JKT() jkt: string) { return { jkt }; }
 * ```
 */
export const JKT = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext) => verifiedProof(ctx)?.jkt,
);

/**
 * The whole verified proof ({@link VerifiedDPoPProof}), or `undefined` when none was verified.
 *
 * @example
 * ```ts
 * @Post('token')
 * token(@DPoPProof() proof: VerifiedDPoPProof | undefined) {}
 * ```
 */
export const DPoPProof = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  verifiedProof(ctx),
);
