import type { DPoPProblemDetails, DPoPRefusal } from './dpop-http.mapping.js';

/**
 * A refusal in GraphQL over HTTP: the GraphQL server writes its own body and content type, so
 * the headers go without `Content-Type`, and the error graphql-js reports carries the problem in
 * its `extensions` (graphql-js copies an error's `extensions`), with Apollo's code names.
 */
export function graphqlRefusal(refusal: DPoPRefusal): {
  headers: Record<string, string>;
  message: string;
  extensions: { code: string; problem: DPoPProblemDetails };
} {
  const headers = Object.fromEntries(
    Object.entries(refusal.headers).filter(([name]) => name !== 'Content-Type'),
  );
  const code =
    refusal.status === 401
      ? 'UNAUTHENTICATED'
      : refusal.status === 403
        ? 'FORBIDDEN'
        : refusal.status === 503
          ? 'SERVICE_UNAVAILABLE'
          : refusal.status === 429
            ? 'TOO_MANY_REQUESTS'
            : 'BAD_REQUEST';
  return {
    headers,
    message: refusal.problem.detail,
    extensions: { code, problem: refusal.problem },
  };
}
