/**
 * Errors of the DPoP client, with stable string codes (in the manner of `jose`'s errors).
 * Branch on `code` (and `status`), never on `message`.
 */

/**
 * An RFC 7807 / RFC 9457 problem document as a server sends it. Every member is optional
 * because a server (or a proxy in front of it) may answer with any JSON object.
 */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  /** The server's stable error code (an extension member), e.g. `ERR_DPOP_BINDING_MISMATCH`. */
  code?: string;
  [member: string]: unknown;
}

/** Codes of failures the client detects itself (keys, proofs, files, the flow). */
export type DPoPClientErrorCode =
  | 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG'
  | 'ERR_DPOP_CLIENT_INVALID_KEY'
  | 'ERR_DPOP_CLIENT_INVALID_REQUEST'
  | 'ERR_DPOP_CLIENT_INVALID_SIGNATURE'
  | 'ERR_DPOP_CLIENT_SIGNER'
  | 'ERR_DPOP_CLIENT_KEY_FILE'
  | 'ERR_DPOP_CLIENT_KEY_FILE_EXISTS'
  | 'ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS';

/**
 * Any failure of this library. Local failures (an unsupported key, an unreadable or
 * world-readable key file, a URL a proof cannot be made for) are thrown as this class;
 * refusals by an ARCP server are its subclass `ARCPClientError` (`nest-dpop-client/arcp`).
 */
export class DPoPClientError extends Error {
  override readonly name: string = 'DPoPClientError';

  /** The HTTP status, when a server answered. */
  readonly status?: number;

  /** The server's problem body (RFC 7807), when it sent a JSON one. */
  readonly problem?: ProblemDetails;

  constructor(
    /** Stable machine-readable code, e.g. `ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS`. */
    readonly code: string,
    message: string,
    options?: {
      cause?: unknown;
      /** The HTTP status, when a server answered. */
      status?: number;
      /** The server's problem body, when it sent a JSON one. */
      problem?: ProblemDetails;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.status !== undefined) this.status = options.status;
    if (options?.problem !== undefined) this.problem = options.problem;
  }
}

/**
 * Whether `error` is one of this library's errors (with that `code`, when given).
 * @example if (isClientError(e, 'ERR_ARCP_VALIDATION_FAILED')) console.log(e.problem?.errors);
 */
export function isClientError(error: unknown, code?: string): error is DPoPClientError {
  return error instanceof DPoPClientError && (code === undefined || error.code === code);
}
