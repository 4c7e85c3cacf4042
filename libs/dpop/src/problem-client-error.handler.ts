import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { DPOP_DEFAULTS } from './dpop.constants.js';

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
