import type { ExecutionContext } from '@nestjs/common';
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';
import type { DPoPHeaderWritable } from './response-headers.util.js';

/**
 * The GraphQL context object (the resolver's third argument), read the way `@nestjs/graphql`'s
 * `GqlExecutionContext` does, so this library needs no dependency on it. The Apollo driver puts
 * the HTTP request at `req` (Express and Fastify alike), Mercurius gives `reply` (whose `request`
 * is the request); a user-built context may also say `request` / `res`.
 */
interface GraphqlContext {
  req?: DPoPHttpRequest;
  request?: DPoPHttpRequest;
  res?: DPoPHeaderWritable;
  reply?: DPoPHeaderWritable & { request?: DPoPHttpRequest };
}

function graphqlContext(context: ExecutionContext): GraphqlContext | undefined {
  const value: unknown = context.getArgByIndex(2);
  return typeof value === 'object' && value !== null ? value : undefined;
}

/** A value that looks like an HTTP request (has a `headers` object), else `undefined`. */
function asRequest(value: unknown): DPoPHttpRequest | undefined {
  return typeof value === 'object' &&
    value !== null &&
    typeof (value as DPoPHttpRequest).headers === 'object' &&
    (value as DPoPHttpRequest).headers !== null
    ? (value as DPoPHttpRequest)
    : undefined;
}

/**
 * The HTTP request behind a context: the request itself for `http`, the request under the
 * GraphQL context for `graphql` (queries and mutations over HTTP). `undefined` for contexts that
 * carry no HTTP request (`rpc`, `ws`, GraphQL subscriptions over WebSocket).
 */
export function httpRequestOf(context: ExecutionContext): DPoPHttpRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') return asRequest(context.switchToHttp().getRequest());
  if (type === 'graphql') {
    const gql = graphqlContext(context);
    return asRequest(gql?.req ?? gql?.request ?? gql?.reply?.request);
  }
  return undefined;
}

/**
 * The HTTP response behind a context, where headers go: the response for `http`; for `graphql`,
 * the context's `res` or `reply`, else Express' `req.res`. `undefined` when there is none.
 */
export function httpResponseOf(context: ExecutionContext): DPoPHeaderWritable | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse<DPoPHeaderWritable>();
  if (type === 'graphql') {
    const gql = graphqlContext(context);
    const request = gql?.req ?? gql?.request;
    return gql?.res ?? gql?.reply ?? (request?.res as DPoPHeaderWritable | undefined);
  }
  return undefined;
}
