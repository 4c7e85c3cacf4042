import {
  STATUS_CODES,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { DPOP_DEFAULTS } from '../options/dpop.constants.js';
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';
import { hasMultipleHostHeaders } from '../request/request-headers.util.js';

const CLIENT_ERRORS = {
  tooLarge: {
    status: 431,
    slug: 'headers-too-large',
    title: 'Request Headers Too Large',
    detail: 'The request headers are larger than this server accepts',
  },
  timeout: {
    status: 408,
    slug: 'request-timeout',
    title: 'Request Timeout',
    detail: 'The request was not received in time',
  },
  bad: {
    status: 400,
    slug: 'invalid-request',
    title: 'Bad Request',
    detail: 'The request could not be parsed as HTTP',
  },
} as const;

/**
 * Makes the HTTP server answer requests that Node itself refuses before any framework code runs
 * (headers over `maxHeaderSize`, malformed request lines) with an RFC 7807 problem instead of a
 * bare status line: a 100 KB `DPoP` header gets `431 headers-too-large` as `application/problem+json`.
 *
 * Replaces any other `clientError` listener (Fastify installs one), and never answers on a
 * socket that is already gone.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * answerClientErrorsWithProblems(app.getHttpServer());
 * ```
 */
export function answerClientErrorsWithProblems(
  server: Server,
  options: { problemTypeBase?: string } = {},
): void {
  const base = options.problemTypeBase ?? DPOP_DEFAULTS.problemTypeBase;
  server.removeAllListeners('clientError');
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // As Node does: never write into a response already under way on this connection (a
    // pipelined bad request behind a slow answer); just close it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const kind =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? CLIENT_ERRORS.tooLarge
        : error.code === 'HPE_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? CLIENT_ERRORS.timeout
          : CLIENT_ERRORS.bad;
    const { status } = kind;
    const body = JSON.stringify({
      type: base + kind.slug,
      title: kind.title,
      status,
      detail: kind.detail,
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}

/**
 * Makes the HTTP server answer a request with more than one `Host` header with a 400 problem
 * (`invalid-host`, code `ERR_DPOP_MULTIPLE_HOSTS`) before any framework code runs, as RFC 9112
 * §3.2 asks. Node keeps the first `Host`; a proxy in front may have routed on the last, so the
 * request is ambiguous for every route, guarded or not (the guard refuses it too, on its routes).
 *
 * Call it once, after the application is created and before it listens: it wraps the request
 * listeners installed so far (Express' or Fastify's).
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * answerMultipleHostsWithProblem(app.getHttpServer());
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2
 */
export function answerMultipleHostsWithProblem(
  server: Server,
  options: { problemTypeBase?: string } = {},
): void {
  const base = options.problemTypeBase ?? DPOP_DEFAULTS.problemTypeBase;
  const body = JSON.stringify({
    type: base + 'invalid-host',
    title: 'Invalid Host Header',
    status: 400,
    detail: 'The request has more than one Host header',
    code: 'ERR_DPOP_MULTIPLE_HOSTS',
  });
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', function (this: Server, request: IncomingMessage, response: ServerResponse) {
    if (hasMultipleHostHeaders(request as unknown as DPoPHttpRequest)) {
      response.writeHead(400, {
        'Content-Type': 'application/problem+json',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
        Connection: 'close',
      });
      response.end(body);
      return;
    }
    for (const listener of listeners) listener.call(this, request, response);
  });
}
