import { dpopChallengeError } from '../fetch/www-authenticate.util.js';
import { DPoPClientError, type ProblemDetails } from '../errors/client.errors.js';

/** The errors of the ARCP client: a refusal by the server, a network failure, a failed flow. */

/** Codes the client gives an {@link ARCPClientError} when the server sent no `code` of its own. */
export type ARCPClientErrorCode =
  | 'ERR_ARCP_NETWORK'
  | 'ERR_ARCP_REQUEST_TIMEOUT'
  | 'ERR_ARCP_INVALID_RESPONSE'
  | 'ERR_ARCP_HTTP'
  | 'ERR_ARCP_VALIDATION_FAILED'
  | 'ERR_ARCP_VALIDATION_TIMEOUT'
  | 'ERR_ARCP_NO_ACCESS_TOKEN'
  | 'ERR_ARCP_AGENT_STILL_ALIVE'
  | 'ERR_ARCP_ROTATION_SAME_KEY'
  | 'ERR_ARCP_ROTATION_AGENT_ID';

/**
 * An ARCP server refused a request (`status` and `problem` say how and why), could not be
 * reached, sent something that is not the ARCP contract, or the registration flow failed
 * (validation failed or timed out).
 *
 * `code` is the server's own `code` member when its problem has one (e.g.
 * `ERR_DPOP_BINDING_MISMATCH`), else `ERR_ARCP_<PROBLEM_SLUG>` from the problem `type` (e.g.
 * `ERR_ARCP_AUTHENTICATION_FAILED`), else one of {@link ARCPClientErrorCode}.
 */
export class ARCPClientError extends DPoPClientError {
  override readonly name: string = 'ARCPClientError';
}

/** Whether `value` is a JSON object (not an array). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `ERR_ARCP_DPOP_BINDING_MISMATCH` from `https://…/problems/dpop-binding-mismatch`. */
function codeFromProblemType(type: unknown): string | undefined {
  if (typeof type !== 'string' || type === 'about:blank') return undefined;
  const slug =
    type
      .replace(/[?#].*$/, '')
      .replace(/\/+$/, '')
      .split('/')
      .pop() ?? '';
  if (!/^[A-Za-z0-9-]+$/.test(slug)) return undefined;
  return `ERR_ARCP_${slug.replace(/-/g, '_').toUpperCase()}`;
}

/** `ERR_ARCP_INVALID_DPOP_PROOF` from `WWW-Authenticate: DPoP error="invalid_dpop_proof"`. */
function codeFromChallenge(header: string | null): string | undefined {
  const error = dpopChallengeError(header);
  if (error === undefined || !/^[A-Za-z0-9_]+$/.test(error)) return undefined;
  return `ERR_ARCP_${error.toUpperCase()}`;
}

/** The human reason in a problem, or in the other error shapes servers send. */
function detailOf(problem: ProblemDetails | undefined): string | undefined {
  if (problem === undefined) return undefined;
  if (typeof problem.detail === 'string') return problem.detail;
  const { message, error_description: description, error } = problem;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof description === 'string') return description;
  return typeof error === 'string' ? error : undefined;
}

/**
 * The error for a non-2xx answer, and how its `code` is derived: the server's own `code` member,
 * else `ERR_ARCP_<SLUG>` from the problem `type`, else `ERR_ARCP_<ERROR>` from a
 * `WWW-Authenticate: DPoP error="…"` challenge, else `ERR_ARCP_HTTP`.
 */
export function httpErrorOf(
  method: string,
  url: URL,
  response: Response,
  body: unknown,
  text: string,
): ARCPClientError {
  const problem = isObject(body) ? (body as ProblemDetails) : undefined;
  const code =
    (typeof problem?.code === 'string' && problem.code !== '' ? problem.code : undefined) ??
    codeFromProblemType(problem?.type) ??
    codeFromChallenge(response.headers.get('WWW-Authenticate')) ??
    'ERR_ARCP_HTTP';
  const title = typeof problem?.title === 'string' ? problem.title : response.statusText;
  // A non-JSON body (a proxy's HTML page) is summarised, never dumped.
  const detail =
    detailOf(problem) ?? (text === '' ? undefined : text.slice(0, 200).replace(/\s+/g, ' '));
  const message =
    `${method} ${url.pathname}: ${response.status} ${title}` + (detail ? ` (${detail})` : '');
  return new ARCPClientError(code, message, { status: response.status, problem });
}
