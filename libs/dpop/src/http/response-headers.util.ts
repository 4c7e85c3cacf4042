/**
 * The one way this library writes headers on a response (refusals, `DPoP-Nonce` rotation), on
 * Node's `ServerResponse` (Express, GraphQL over Express) and Fastify's reply alike.
 */

/** A response the library can set headers on: Node's `ServerResponse` (Express) or Fastify's reply. */
export interface DPoPHeaderWritable {
  setHeader?: (name: string, value: string) => unknown;
  header?: (name: string, value: string) => unknown;
}

/** The part of Node's `ServerResponse` used to label the answer as it goes out. */
interface NodeResponse {
  setHeader(name: string, value: string): unknown;
  getHeader(name: string): unknown;
  writeHead(...args: unknown[]): unknown;
}

const JSON_TYPE = /^application\/json(?=\s*(?:;|$))/i;

/**
 * Sets headers on a response: a refusal's before the exception is thrown (so that Nest's default
 * exception filter sends a complete answer), or a rotated `DPoP-Nonce` before the handler runs.
 * Node's `setHeader` when the response is a Node `ServerResponse` (Express' `header()` would add a
 * charset to `Content-Type`), else Fastify's `header()`, else a bare `setHeader()`.
 *
 * On a Node `ServerResponse` a non-JSON `Content-Type` such as `application/problem+json` is
 * applied as the head is written, not now. Why: NestJS 11's `ExpressAdapter.reply()` reads
 * `Content-Type` back and, when it is set and does not start with `application/json`, logs
 * `Content-Type doesn't match Reply body` and overwrites it with `application/json`, so every
 * refusal would be logged and mislabelled. Left unset, `reply()` stays quiet and `res.json()`
 * labels the body `application/json`; at `writeHead` that label (and only that one: a filter that
 * chose another type keeps it) becomes ours, with its parameters (`; charset=utf-8`). NestJS 12
 * accepts `+json` types and behaves the same way. Fastify's reply gets every header at once:
 * neither major's `FastifyAdapter` objects to it.
 */
export function setDPoPHeaders(
  response: DPoPHeaderWritable | undefined,
  headers: Readonly<Record<string, string>>,
): void {
  if (response === undefined) return;
  const node = isNodeResponse(response) ? response : undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (node !== undefined) {
      if (name.toLowerCase() === 'content-type' && !JSON_TYPE.test(value)) {
        labelOnWriteHead(node, value);
      } else {
        node.setHeader(name, value);
      }
    } else if (typeof response.header === 'function') {
      response.header(name, value);
    } else if (typeof response.setHeader === 'function') {
      response.setHeader(name, value);
    }
  }
}

function isNodeResponse(response: object): response is NodeResponse {
  const candidate = response as Partial<NodeResponse>;
  return (
    typeof candidate.setHeader === 'function' &&
    typeof candidate.getHeader === 'function' &&
    typeof candidate.writeHead === 'function'
  );
}

/** Replaces a plain `application/json` label with `type` when the head goes out, once. */
function labelOnWriteHead(response: NodeResponse, type: string): void {
  const writeHead = response.writeHead;
  response.writeHead = function (this: NodeResponse, ...args: unknown[]): unknown {
    response.writeHead = writeHead;
    const current = this.getHeader('content-type');
    if (current === undefined) this.setHeader('Content-Type', type);
    else if (typeof current === 'string' && JSON_TYPE.test(current)) {
      this.setHeader('Content-Type', current.replace(JSON_TYPE, type));
    }
    return writeHead.apply(this, args);
  };
}
