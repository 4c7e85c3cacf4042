import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  type ExecutionContext,
} from '@nestjs/common';
import {
  DPOP_BOUND_KEY,
  DPOP_REQUEST_RESULT,
  DPOP_REQUIRED_KEY,
  DPOP_ROUTE_OPTIONS_KEY,
  DPOP_SKIP_KEY,
  DPOP_TOKEN_ENDPOINT_KEY,
} from '../options/dpop.constants.js';
import { checkedRouteOptions, type DPoPRouteOptions } from '../request/dpop-route.options.js';
import { httpRequestOf } from '../http/execution-context.util.js';
import type { VerifiedDPoPProof } from '../verifier/dpop-proof.verifier.js';

/** The route settings' metadata, when any are given. */
function routeSettings(
  options: DPoPRouteOptions | undefined,
  decorator: string,
): (MethodDecorator & ClassDecorator)[] {
  if (options === undefined || Object.keys(options).length === 0) return [];
  return [SetMetadata(DPOP_ROUTE_OPTIONS_KEY, checkedRouteOptions(options, decorator))];
}

/**
 * The route (or every route of the controller) needs a DPoP-bound access token (`cnf.jkt`) and
 * a valid proof from that key, whether DPoP is optional or required globally. Takes the route's
 * own proof settings ({@link DPoPRouteOptions}).
 *
 * @example
 * ```ts
 * @DPoPBound()
 * @Post(':id/heartbeat')
 * heartbeat(@JKT() jkt: string) {}
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 */
export const DPoPBound = (options?: DPoPRouteOptions): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(DPOP_BOUND_KEY, true), ...routeSettings(options, '@DPoPBound()'));

/**
 * The route (or every route of the controller) needs a valid DPoP proof, whatever the module's
 * `required` says, with or without an access token (a bound token must still match the proof's
 * key; `@DPoPBound()` also demands one). Takes the route's own proof settings: algorithms,
 * window, no nonce ({@link DPoPRouteOptions}); a method's settings win over its class's, as
 * `@Throttle()` does.
 *
 * @example
 * ```ts
 * @DPoPRequired({ algorithms: ['ES256'], proofTtl: 30 })
 * @Post('keys')
 * register(@JKT() jkt: string) {}
 * ```
 */
export const DPoPRequired = (options?: DPoPRouteOptions): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(DPOP_REQUIRED_KEY, true),
    ...routeSettings(options, '@DPoPRequired()'),
  );

/** Settings of {@link DPoPTokenEndpoint}: the route's proof settings, and whether one is required. */
export interface DPoPTokenEndpointOptions extends DPoPRouteOptions {
  /**
   * Whether a token request needs a proof. Default `true`: a token endpoint that let a request
   * without a proof through would issue an unbound token (`@JKT()` undefined). `false`: as on
   * any route (the class's `@DPoPRequired()`, else the module's `required`), for an endpoint
   * that issues bearer tokens too.
   */
  required?: boolean;
}

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
 * Marks a token-issuing route (an authorization server's token endpoint, RFC 9449 §5). A token
 * request needs a valid proof (`ERR_DPOP_MISSING` otherwise), whatever the module's `required`
 * says, unless `{ required: false }`; so `@JKT()` is always the key to bind the token to (see
 * `bindAccessToken()`). When server nonces are on, a proof without the current nonce is answered
 * as RFC 9449 §8 says for token endpoints, with 400 `{"error":"use_dpop_nonce"}` and a
 * `DPoP-Nonce` header, instead of the 401 challenge of resource routes.
 *
 * @example
 * ```ts
 * @DPoPTokenEndpoint()
 * @Post('token')
 * token(@JKT() jkt: string) {}
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
export const DPoPTokenEndpoint = (
  options: DPoPTokenEndpointOptions = {},
): MethodDecorator & ClassDecorator => {
  const { required = true, ...settings } = options;
  if (typeof required !== 'boolean') {
    throw new Error('@DPoPTokenEndpoint(): required must be true or false');
  }
  return applyDecorators(
    SetMetadata(DPOP_TOKEN_ENDPOINT_KEY, true),
    // `required: false` sets nothing: the class's decorators, then the module, decide.
    ...(required ? [SetMetadata(DPOP_REQUIRED_KEY, true)] : []),
    ...routeSettings(settings, '@DPoPTokenEndpoint()'),
  );
};

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
