import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { DPOP_DEFAULTS } from './dpop.constants.js';

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
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      type: base + (tooLarge ? 'headers-too-large' : 'invalid-request'),
      title: tooLarge ? 'Request Headers Too Large' : 'Bad Request',
      status,
      detail: tooLarge
        ? 'The request headers are larger than this server accepts'
        : 'The request could not be parsed as HTTP',
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
