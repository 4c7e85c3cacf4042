import { ProblemException } from './problem.exception.js';

type Headers = Record<string, string>;

/**
 * The app's problems, with ARCP's slugs, titles, statuses and detail strings
 * (ARCP-REFERENCE §2.3, §3.7), so every route refuses the same thing the same way.
 */
export const Problems = {
  /** 401: no usable credentials were sent. */
  authenticationFailed(detail: string, headers?: Headers): ProblemException {
    const title = 'Authentication Failed';
    return new ProblemException('authentication-failed', title, 401, detail, {}, headers);
  },

  /** 401: the token is not ours, was altered, or has expired. */
  tokenRejected(detail: string, headers?: Headers): ProblemException {
    const title = 'Invalid or Expired Token';
    return new ProblemException('token-invalid', title, 401, detail, {}, headers);
  },

  /** 403: a genuine token of the wrong kind for this route (token mixing). */
  tokenWrongKind(
    title: string,
    detail: string,
    extensions?: Record<string, unknown>,
  ): ProblemException {
    return new ProblemException('token-invalid', title, 403, detail, extensions);
  },

  /** 400 `invalid-input` about one field. */
  invalidInput(field: string, detail: string): ProblemException {
    return new ProblemException('invalid-input', 'Invalid Input Data', 400, detail, { field });
  },

  insufficientPermissions(detail: string): ProblemException {
    const title = 'Insufficient Permissions';
    return new ProblemException('insufficient-permissions', title, 403, detail);
  },

  forbidden(detail: string): ProblemException {
    return new ProblemException('forbidden', 'Forbidden', 403, detail);
  },

  notFound(detail: string): ProblemException {
    return new ProblemException('not-found', 'Resource Not Found', 404, detail);
  },

  agentNotFound(agentId: string): ProblemException {
    const detail = `Agent ${agentId} not found`;
    return new ProblemException('agent-not-found', 'Agent Not Found', 404, detail, {
      agent_id: agentId,
    });
  },

  duplicateAgent(agentId: string): ProblemException {
    const detail = `Agent ${agentId} is already registered and alive.`;
    return new ProblemException('duplicate-agent', 'Duplicate Agent', 409, detail, {
      agent_id: agentId,
    });
  },

  /** 503: a store is at its capacity (`ARCP_MEMORY_MAX_RECORDS`); the client may retry later. */
  storageFull(code: 'REGISTRY_FULL' | 'VALIDATIONS_FULL', detail: string): ProblemException {
    return new ProblemException(
      'service-unavailable',
      'Service Unavailable',
      503,
      detail,
      { error_code: code },
      { 'Retry-After': '60' },
    );
  },

  /** 503: a backing store (Redis) did not answer; the client may retry. */
  storageUnavailable(): ProblemException {
    const detail = 'Storage is unavailable; try again later';
    return new ProblemException(
      'service-unavailable',
      'Service Unavailable',
      503,
      detail,
      {},
      {
        'Retry-After': '1',
      },
    );
  },
};
