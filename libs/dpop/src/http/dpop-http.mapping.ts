/**
 * The one mapping from a {@link DPoPError} to HTTP: status, RFC 7807 problem (slug, title),
 * `WWW-Authenticate` challenge, `DPoP-Nonce` / `Retry-After` / `Cache-Control` and the token
 * endpoint's OAuth form (RFC 9449 §8); `graphql-refusal.util.ts` reshapes it for GraphQL. No
 * Nest here: `DPoPException` wraps what this builds, and `DPoPRequestPolicy.refusal()` hands it
 * to plain Express or Fastify code.
 */
import type { DPoPError, DPoPErrorCode } from '../errors/dpop.errors.js';
import type { DPoPNonceIssuer } from '../verifier/dpop-nonce.issuer.js';

/** The RFC 7807 problem slugs used by this library (appended to the configured problem base URI). */
export type DPoPProblemSlug =
  | 'dpop-required'
  | 'dpop-invalid'
  | 'dpop-binding-mismatch'
  | 'token-not-dpop-bound'
  | 'token-binding-invalid'
  | 'token-binding-unavailable'
  | 'dpop-nonce-required'
  | 'invalid-request'
  | 'dpop-store-unavailable'
  | 'invalid-host'
  | 'invalid-token'
  | 'token-required'
  | 'insufficient-scope'
  | 'issuer-unavailable'
  | 'dpop-rate-limited';

/** What each code means on the wire: problem slug, HTTP status and `WWW-Authenticate` error. */
interface CodeInfo {
  readonly slug: DPoPProblemSlug;
  readonly status: 400 | 401 | 403 | 429 | 503;
  /** RFC 9449 §7.1 / RFC 6750 §3.1 error code; `undefined` = challenge without an error. */
  readonly challenge:
    | 'invalid_dpop_proof'
    | 'invalid_token'
    | 'invalid_request'
    | 'use_dpop_nonce'
    | 'insufficient_scope'
    | undefined;
}

const invalidProof: CodeInfo = {
  slug: 'dpop-invalid',
  status: 401,
  challenge: 'invalid_dpop_proof',
};

/** The one table from code to wire behaviour. */
export const DPOP_ERROR_INFO: Readonly<Record<DPoPErrorCode, CodeInfo>> = {
  // No credentials at all: RFC 6750 §3.1 says a challenge without an error code.
  ERR_DPOP_MISSING: { slug: 'dpop-required', status: 401, challenge: undefined },
  ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF: {
    slug: 'dpop-required',
    status: 401,
    challenge: 'invalid_dpop_proof',
  },
  ERR_DPOP_MULTIPLE_HEADERS: invalidProof,
  ERR_DPOP_TOO_LARGE: invalidProof,
  ERR_DPOP_MALFORMED: invalidProof,
  ERR_DPOP_INVALID_TYP: invalidProof,
  ERR_DPOP_UNSUPPORTED_ALG: invalidProof,
  ERR_DPOP_INVALID_JWK: invalidProof,
  ERR_DPOP_INVALID_SIGNATURE: invalidProof,
  ERR_DPOP_INVALID_CLAIM: invalidProof,
  ERR_DPOP_HTM_MISMATCH: invalidProof,
  ERR_DPOP_HTU_MISMATCH: invalidProof,
  ERR_DPOP_EXPIRED: invalidProof,
  ERR_DPOP_IAT_IN_FUTURE: invalidProof,
  ERR_DPOP_ATH_MISSING: invalidProof,
  ERR_DPOP_ATH_MISMATCH: invalidProof,
  ERR_DPOP_REPLAY: invalidProof,
  // RFC 9449 §8: the answer carries a fresh DPoP-Nonce for the client's retry.
  ERR_DPOP_USE_NONCE: { slug: 'dpop-nonce-required', status: 401, challenge: 'use_dpop_nonce' },
  ERR_DPOP_BINDING_MISMATCH: {
    slug: 'dpop-binding-mismatch',
    status: 401,
    challenge: 'invalid_token',
  },
  ERR_DPOP_TOKEN_NOT_BOUND: {
    slug: 'token-not-dpop-bound',
    status: 401,
    challenge: 'invalid_token',
  },
  // The binding resolver refused the token (or failed without saying it is unavailable).
  ERR_DPOP_TOKEN_BINDING_INVALID: {
    slug: 'token-binding-invalid',
    status: 401,
    challenge: 'invalid_token',
  },
  // The binding resolver said its service is down: fail closed, the client may retry.
  ERR_DPOP_TOKEN_BINDING_UNAVAILABLE: {
    slug: 'token-binding-unavailable',
    status: 503,
    challenge: undefined,
  },
  // RFC 6750 §3.1: a malformed credential is a bad request, not a bad token.
  ERR_DPOP_INVALID_AUTHORIZATION: {
    slug: 'invalid-request',
    status: 400,
    challenge: 'invalid_request',
  },
  ERR_DPOP_SCHEME_MISMATCH: { slug: 'dpop-invalid', status: 401, challenge: 'invalid_token' },
  // The replay store could not answer: fail closed, and tell the client it may retry.
  ERR_DPOP_STORE_UNAVAILABLE: { slug: 'dpop-store-unavailable', status: 503, challenge: undefined },
  // One client or key made too many new proofs (proofBudget): only it waits, others go on.
  ERR_DPOP_RATE_LIMITED: { slug: 'dpop-rate-limited', status: 429, challenge: undefined },
  // A context with no HTTP request (rpc, ws) on a bound or required route: nothing to check.
  ERR_DPOP_UNSUPPORTED_CONTEXT: { slug: 'dpop-required', status: 401, challenge: undefined },
  // RFC 9112 §3.2 (two Host headers) and RFC 9113 §8.3.1 (Host ≠ :authority): malformed, 400.
  ERR_DPOP_MULTIPLE_HOSTS: { slug: 'invalid-host', status: 400, challenge: 'invalid_request' },
  // Access tokens verified by the library (accessToken option): RFC 6750 §3.1.
  ERR_DPOP_TOKEN_INVALID: { slug: 'invalid-token', status: 401, challenge: 'invalid_token' },
  ERR_DPOP_TOKEN_EXPIRED: { slug: 'invalid-token', status: 401, challenge: 'invalid_token' },
  // No token where one is needed (a route with required scopes): a challenge without an error.
  ERR_DPOP_TOKEN_REQUIRED: { slug: 'token-required', status: 401, challenge: undefined },
  ERR_DPOP_INSUFFICIENT_SCOPE: {
    slug: 'insufficient-scope',
    status: 403,
    challenge: 'insufficient_scope',
  },
  // The issuer's metadata, keys or introspection endpoint did not answer: fail closed.
  ERR_DPOP_ISSUER_UNAVAILABLE: { slug: 'issuer-unavailable', status: 503, challenge: undefined },
};

const TITLES: Readonly<Record<DPoPProblemSlug, string>> = {
  'dpop-required': 'DPoP Proof Required',
  'dpop-invalid': 'Invalid DPoP Proof',
  'dpop-binding-mismatch': 'DPoP Binding Mismatch',
  'token-not-dpop-bound': 'Token Not DPoP Bound',
  'token-binding-invalid': 'Invalid Token Binding',
  'token-binding-unavailable': 'Token Binding Unavailable',
  'dpop-nonce-required': 'DPoP Nonce Required',
  'invalid-request': 'Invalid Authorization Header',
  'dpop-store-unavailable': 'DPoP Replay Store Unavailable',
  'invalid-host': 'Invalid Host Header',
  'invalid-token': 'Invalid Access Token',
  'token-required': 'Access Token Required',
  'insufficient-scope': 'Insufficient Scope',
  'issuer-unavailable': 'Authorization Server Unavailable',
  'dpop-rate-limited': 'Too Many New DPoP Proofs',
};

/** The HTTP status a refusal with this code gets (outside a token endpoint's nonce answer). */
export function dpopStatusOf(code: DPoPErrorCode): 400 | 401 | 403 | 429 | 503 {
  return DPOP_ERROR_INFO[code].status;
}

/** An RFC 7807 problem document as this library writes it. */
export interface DPoPProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request path. */
  instance?: string;
  /** The stable error code, e.g. `ERR_DPOP_REPLAY` (an RFC 7807 extension member). */
  code: string;
}

/** The OAuth error body of RFC 9449 §8 at a token endpoint: `{"error":"use_dpop_nonce"}`. */
export interface DPoPOAuthErrorBody {
  error: 'use_dpop_nonce';
  error_description: string;
}

/** A refusal as HTTP: what to answer, with no framework in it. */
export interface DPoPRefusal {
  /** The status to answer with (400 with the OAuth body at a token endpoint asking for a nonce). */
  readonly status: number;
  /** `Content-Type`, `WWW-Authenticate`, `Cache-Control`, `DPoP-Nonce`, `Retry-After` (503). */
  readonly headers: Readonly<Record<string, string>>;
  /** What to send: the problem, or RFC 9449 §8's OAuth error object at a token endpoint. */
  readonly body: DPoPProblemDetails | DPoPOAuthErrorBody;
  /** The refusal as an RFC 7807 problem (also when `body` is the OAuth form). */
  readonly problem: DPoPProblemDetails;
}

/** What the mapping needs from the options; computed into the mapper once, at start-up. */
export interface DPoPRefusalSettings {
  problemTypeBase: string;
  algorithms: readonly string[];
  /** The issuers of a `use_dpop_nonce` refusal's `DPoP-Nonce`: module-wide, else per route. */
  nonces?: DPoPNonceIssuer | undefined;
  routeNonces?: DPoPNonceIssuer | undefined;
  clock?: () => number;
  /**
   * The RFC 9728 metadata URL of the resource a request path belongs to, for the challenge's
   * `resource_metadata` (RFC 9728 §5.1); `undefined` when none is published.
   */
  resourceMetadataUrl?: (path: string | undefined) => string | undefined;
}

/** What the mapping needs to know about the refused request and its route. */
export interface DPoPRefusalContext {
  /** Answer `use_dpop_nonce` as an authorization server does (RFC 9449 §8: 400). */
  readonly tokenEndpoint?: boolean;
  /** Plain Bearer tokens are accepted there too (no proof and no binding required). */
  readonly bearer?: boolean;
  /**
   * The request carried no credentials at all (no `Authorization`, no `DPoP`): a 401 challenge
   * then has no error code (RFC 6750 §3.1, RFC 9449 §7.1), since nothing was invalid.
   */
  readonly anonymous?: boolean;
  /** The route's own algorithms, for the challenge's `algs` (default: the module's). */
  readonly algorithms?: readonly string[] | undefined;
}

/** Turns a refusal into its HTTP form; `instance` is the request path, without query. */
export type DPoPRefusalMapper = (
  error: DPoPError,
  instance?: string,
  context?: DPoPRefusalContext,
) => DPoPRefusal;

/** `Retry-After` in whole seconds, at least 1: the error's own wait, else one second. */
function retryAfterOf(error: DPoPError): string {
  return String(Math.max(1, Math.ceil(error.retryAfter ?? 1)));
}

/** Quotes a value for an auth-param (RFC 9110 §11.2): backslash-escape `"` and `\`. */
function quoted(value: string): string {
  return '"' + value.replace(/["\\]/g, '\\$&') + '"';
}

/** The challenge's `algs` parameter (RFC 9449 §7.1): each algorithm once, in order. */
const algsParameter = (algs: readonly string[]) => `algs=${quoted([...new Set(algs)].join(' '))}`;

/**
 * Makes the one mapping from domain error to HTTP, with what can be computed at start-up (the
 * module's `algs` parameter, the type base) computed once, and a route's own `algs` once per
 * route (its settings hold one algorithm list for the life of the app).
 */
export function createDPoPRefusalMapper(options: DPoPRefusalSettings): DPoPRefusalMapper {
  const moduleAlgs = algsParameter(options.algorithms);
  const routeAlgs = new WeakMap<readonly string[], string>();
  const algsOf = (algorithms: readonly string[] | undefined): string => {
    if (algorithms === undefined) return moduleAlgs;
    let algs = routeAlgs.get(algorithms);
    if (algs === undefined) routeAlgs.set(algorithms, (algs = algsParameter(algorithms)));
    return algs;
  };
  const base = options.problemTypeBase;
  const clock = options.clock ?? Date.now;
  const nonces = options.nonces ?? options.routeNonces;
  return (error, instance, context = {}) => {
    const { tokenEndpoint = false, bearer = false, anonymous = false, algorithms } = context;
    const known = DPOP_ERROR_INFO[error.code];
    // RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the client was
    // unaware that authentication is necessary […]), the resource server SHOULD NOT include an
    // error code": a client that sent nothing is told what to send, not that it sent it wrong.
    const info =
      anonymous && known.status === 401 && known.challenge !== undefined
        ? { ...known, challenge: undefined }
        : known;
    // The error's own nonce (a replay store recovering from a loss) or the module's current one.
    const nonce =
      error.code === 'ERR_DPOP_USE_NONCE' ? (error.nonce ?? nonces?.current(clock())) : undefined;
    if (nonce !== undefined && tokenEndpoint) {
      // RFC 9449 §8: an authorization server answers 400 with an OAuth error body.
      return {
        status: 400,
        headers: {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
          'DPoP-Nonce': nonce,
          ...(error.retryAfter !== undefined && { 'Retry-After': retryAfterOf(error) }),
        },
        body: { error: 'use_dpop_nonce', error_description: error.message },
        problem: problemOf(error, info, instance),
      };
    }
    const problem = problemOf(error, info, instance);
    const headers: Record<string, string> = {
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
    };
    if (nonce !== undefined) headers['DPoP-Nonce'] = nonce;
    // The real wait when the error knows it (a store full until its oldest entry expires, a
    // history loss whose window ends at a known time), else "try again in a second".
    if (info.status === 503 || info.status === 429 || error.retryAfter !== undefined) {
      headers['Retry-After'] = retryAfterOf(error);
    }
    // Not a matter of credentials (503, 429): no challenge.
    if (info.status !== 503 && info.status !== 429) {
      // RFC 9449 §7.1: the DPoP challenge, with the algorithms this route accepts.
      const algs = algsOf(algorithms);
      let challenge = info.challenge
        ? `DPoP error=${quoted(info.challenge)}, error_description=${quoted(error.message)}, ${algs}`
        : `DPoP ${algs}`;
      // RFC 6750 §3: the scope the route needs.
      if (error.scope !== undefined) challenge += `, scope=${quoted(error.scope)}`;
      const metadata = options.resourceMetadataUrl?.(instance);
      if (metadata !== undefined) challenge += `, resource_metadata=${quoted(metadata)}`;
      // RFC 9728 §5.1: where plain Bearer tokens are accepted too, a client that only speaks
      // Bearer reads its own scheme's challenge (RFC 6750 §3) to find the metadata, so it gets
      // one. Without published metadata, Bearer challenges stay the application's own.
      if (bearer && metadata !== undefined && !tokenEndpoint) {
        challenge += `, ${bearerChallenge(error, info, metadata)}`;
      }
      headers['WWW-Authenticate'] = challenge;
    }
    return { status: info.status, headers, body: problem, problem };
  };

  function problemOf(
    error: DPoPError,
    info: CodeInfo,
    instance: string | undefined,
  ): DPoPProblemDetails {
    return {
      type: base + info.slug,
      title: TITLES[info.slug],
      status: info.status,
      detail: error.message,
      ...(instance !== undefined && { instance }),
      code: error.code,
    };
  }
}

/** RFC 6750 §3.1's error codes: a proof's errors (`invalid_dpop_proof`, `use_dpop_nonce`) are not. */
const BEARER_ERRORS: ReadonlySet<CodeInfo['challenge']> = new Set([
  'invalid_token',
  'invalid_request',
  'insufficient_scope',
]);

/** The `Bearer` challenge beside the `DPoP` one (RFC 6750 §3), naming the metadata. */
function bearerChallenge(error: DPoPError, info: CodeInfo, metadata: string): string {
  const params: string[] = [];
  if (BEARER_ERRORS.has(info.challenge)) {
    params.push(`error=${quoted(info.challenge!)}`, `error_description=${quoted(error.message)}`);
  }
  if (error.scope !== undefined) params.push(`scope=${quoted(error.scope)}`);
  params.push(`resource_metadata=${quoted(metadata)}`);
  return `Bearer ${params.join(', ')}`;
}
