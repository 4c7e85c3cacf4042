import { HttpException } from '@nestjs/common';
/**
 * Base URI of every problem `type` the spec names; the app passes it to the DPoP library too
 * (`problemTypeBase`), so that its DPoP refusals carry the same base.
 */
export const PROBLEM_TYPE_BASE = 'https://arcp.0x001.tech/docs/problems/';

/** An RFC 9457 problem document as the app sends it; extension members sit at the top level. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

/**
 * An error the app means to send as `application/problem+json`. The filter adds `instance` and
 * renders it; `headers` (e.g. `WWW-Authenticate`, `Retry-After`) go out with it.
 */
export class ProblemException extends HttpException {
  constructor(
    /** The last segment of the problem `type`, e.g. `token-invalid`. */
    readonly slug: string,
    readonly title: string,
    status: number,
    readonly detail: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail, status);
  }

  /** The document, without `instance` (which only the filter knows). */
  toProblem(): ProblemDocument {
    return {
      type: PROBLEM_TYPE_BASE + this.slug,
      title: this.title,
      status: this.getStatus(),
      detail: this.detail,
      ...this.extensions,
    };
  }
}

/** One field that failed validation, as listed in a `validation-failed` problem. */
export interface FieldError {
  field: string;
  messages: string[];
}

/** 422 `validation-failed`: the body broke the route's rules; `errors` names each field. */
export class RequestValidationException extends ProblemException {
  constructor(readonly errors: FieldError[]) {
    const fields = errors.map((e) => e.field).join(', ');
    const detail = `Request validation failed: ${fields}`;
    super('validation-failed', 'Request Validation Failed', 422, detail, { errors });
  }
}
