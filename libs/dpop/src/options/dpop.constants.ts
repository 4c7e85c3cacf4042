import { DEFAULT_DPOP_ALGORITHMS, DPOP_ALGORITHMS } from '../verifier/dpop-algorithms.table.js';

/**
 * Proof signing algorithms this library can verify: every asymmetric JWS algorithm of
 * `node:crypto` (RFC 9449 §5 asks for asymmetric only). Enable them with `algorithms`.
 */
export const SUPPORTED_DPOP_ALGORITHMS = DPOP_ALGORITHMS;

/**
 * One of {@link SUPPORTED_DPOP_ALGORITHMS}. (Spelled from the exported list, not the internal
 * table it comes from, so that a user's editor and the API reference name only public things.)
 */
export type DPoPAlgorithm = (typeof SUPPORTED_DPOP_ALGORITHMS)[number];

/**
 * The defaults (seconds where a duration): the time window of RFC 9449's examples, and neutral
 * names for what an application brands itself (its problem `type` base, its Redis key prefix).
 */
export const DPOP_DEFAULTS = {
  enabled: true,
  required: false,
  proofTtl: 120,
  clockSkew: 60,
  /** `EdDSA, Ed25519, ES256, RS256`; the others are opt-in. */
  algorithms: [...DEFAULT_DPOP_ALGORITHMS] as DPoPAlgorithm[],
  /**
   * A URN, because the library publishes no documentation pages of its own: an application
   * that documents its problems passes its own base (e.g. `https://example.com/problems/`).
   */
  problemTypeBase: 'urn:nest-dpop:problem:',
  /** Prefix of `RedisJtiStore` keys. */
  redisKeyPrefix: 'dpop:jti:',
  requestProperty: 'dpop',
  maxProofLength: 8192,
  keyCacheSize: 1000,
} as const;

/** Injection token of the resolved (defaults applied, validated) options. */
export const DPOP_RESOLVED_OPTIONS = Symbol('DPOP_RESOLVED_OPTIONS');

/** Metadata key set by `@DPoPBound()`. */
export const DPOP_BOUND_KEY = 'dpop:bound';

/**
 * Metadata key set (to `true`) by `@DPoPRequired()` and `@DPoPTokenEndpoint()` (unless
 * `{ required: false }`): the route needs a proof, whatever the `required` option says.
 */
export const DPOP_REQUIRED_KEY = 'dpop:required';

/** Metadata key of the per-route settings (`DPoPRouteOptions`) the route decorators take. */
export const DPOP_ROUTE_OPTIONS_KEY = 'dpop:route-options';

/** Metadata key set by `@DPoPTokenEndpoint()`. */
export const DPOP_TOKEN_ENDPOINT_KEY = 'dpop:token-endpoint';

/** Metadata key set by `@RequiredScopes()`. */
export const DPOP_SCOPES_KEY = 'dpop:scopes';

/**
 * Where the guard also puts the verified access token (with the `accessToken` option), whatever
 * its `requestProperty` is, so that `@AccessTokenClaims()` can read it.
 */
export const DPOP_ACCESS_TOKEN_RESULT = Symbol.for('nest-dpop.access-token');

/** Metadata key set by `@SkipDPoP()`. */
export const DPOP_SKIP_KEY = 'dpop:skip';

/**
 * Where the guard also puts the verified proof on the request, whatever `requestProperty` is,
 * so that `@JKT()` and `@DPoPProof()` can read it without knowing the configuration.
 */
export const DPOP_REQUEST_RESULT = Symbol.for('nest-dpop.result');

/**
 * Throws unless `algorithms` is a non-empty list of supported algorithms.
 * @param label what to name in the message (an option or an environment variable)
 */
export function assertSupportedAlgorithms(
  algorithms: readonly string[],
  label: string,
): asserts algorithms is readonly DPoPAlgorithm[] {
  if (algorithms.length === 0) throw new Error(`${label} must list at least one algorithm`);
  for (const alg of algorithms) {
    if (!(SUPPORTED_DPOP_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new Error(
        `${label}: "${String(alg)}" is not a supported algorithm (${SUPPORTED_DPOP_ALGORITHMS.join(', ')})`,
      );
    }
  }
}
