import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DPoPException } from 'nest-dpop';
import { PROBLEM_TYPE_BASE, ProblemException, type ProblemDocument } from './problem.exception.js';

/** Slug and title for statuses that reach the filter without a problem of their own. */
const BY_STATUS: Record<number, [slug: string, title: string]> = {
  400: ['invalid-input', 'Invalid Input Data'],
  401: ['authentication-failed', 'Authentication Failed'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Resource Not Found'],
  405: ['method-not-allowed', 'Method Not Allowed'],
  413: ['request-too-large', 'Request Too Large'],
  415: ['unsupported-media-type', 'Unsupported Media Type'],
  429: ['rate-limit-exceeded', 'Rate Limit Exceeded'],
};

const INTERNAL: [string, string] = ['internal-error', 'Internal Server Error'];
const INTERNAL_DETAIL = 'An unexpected error occurred. Try again later.';

interface Rendered {
  problem: ProblemDocument;
  headers: Record<string, string>;
}

function generic(status: number, detail: string): ProblemDocument {
  const [slug, title] =
    status >= 500 ? INTERNAL : (BY_STATUS[status] ?? ['request-error', 'Request Error']);
  return { type: PROBLEM_TYPE_BASE + slug, title, status, detail };
}

/**
 * Renders every error as RFC 9457 `application/problem+json` with `type`, `title`, `status`,
 * `detail` and `instance`. DPoP refusals keep the library's document (with its `code`) and its
 * `WWW-Authenticate` challenge; anything unexpected becomes a 500 `internal-error` whose detail
 * says nothing about the cause (which is logged instead).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<{ originalUrl?: string; url?: string; method?: string }>();
    const response = http.getResponse<{ headersSent?: boolean }>();
    const { problem, headers } = this.render(exception, request);
    const adapter = this.adapterHost.httpAdapter;

    if (response.headersSent) return;
    if (exception instanceof DPoPException && exception.getStatus() !== exception.problem.status) {
      // At a token endpoint asking for a nonce, RFC 9449 §8 wants its OAuth error body (400).
      for (const [name, value] of Object.entries(exception.headers))
        adapter.setHeader(response, name, value);
      adapter.reply(response, exception.getResponse(), exception.getStatus());
      return;
    }
    const path = (request.originalUrl ?? request.url ?? '').split('?')[0];
    if (problem.instance === undefined && path) problem.instance = path;
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
    adapter.setHeader(response, 'Content-Type', 'application/problem+json');
    adapter.reply(response, problem, problem.status);
  }

  private render(exception: unknown, request: { method?: string; url?: string }): Rendered {
    if (exception instanceof DPoPException) {
      // The library already made the document and the challenge; send them as they are.
      return { problem: { ...exception.problem }, headers: { ...exception.headers } };
    }
    if (exception instanceof ProblemException) {
      return { problem: exception.toProblem(), headers: { ...exception.headers } };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) {
        this.logUnexpected(exception, request);
        return { problem: generic(status, INTERNAL_DETAIL), headers: {} };
      }
      // Nest maps body-parser's JSON errors to a 400 whose cause is the parser's SyntaxError;
      // its message quotes the body, which is no use to the client.
      const detail =
        exception.cause instanceof SyntaxError
          ? 'Request body is not valid JSON'
          : exception.message;
      return { problem: generic(status, detail), headers: {} };
    }
    this.logUnexpected(exception, request);
    return { problem: generic(500, INTERNAL_DETAIL), headers: {} };
  }

  private logUnexpected(exception: unknown, request: { method?: string; url?: string }): void {
    const where = `${request.method ?? '?'} ${(request.url ?? '').split('?')[0]}`;
    this.logger.error(
      `Unexpected error on ${where}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
  }
}
