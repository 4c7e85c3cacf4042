import { DPoPError } from '../errors/dpop.errors.js';

/** The members of an authorization server's metadata (RFC 8414 §2) this library reads. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri?: string;
  readonly introspection_endpoint?: string;
  readonly [member: string]: unknown;
}

/** Settings of {@link IssuerMetadataClient}. */
export interface IssuerMetadataClientOptions {
  /** Timeout of each request, in milliseconds. */
  readonly timeoutMs: number;
  /** How long a document is used before it is fetched again, in milliseconds. */
  readonly maxAgeMs: number;
  /** After a failure, how long requests are answered 503 without asking again, in ms. */
  readonly retryAfterMs?: number;
  readonly clock?: () => number;
}

/**
 * RFC 8414 §3.1: the well-known URI is inserted between the host and the issuer's path
 * (`https://as.example/tenant` → `https://as.example/.well-known/oauth-authorization-server/tenant`).
 */
export function authorizationServerMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

/** OpenID Connect Discovery 1.0 §4: the well-known path appended to the issuer. */
export function openIdConfigurationUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/**
 * Fetches and caches an issuer's metadata: RFC 8414 first, OpenID discovery when that answers
 * 404 (or any 4xx). The document's `issuer` must equal the configured one (RFC 8414 §3.3), or
 * it is not used. One fetch at a time; an unreachable issuer is a {@link DPoPError}
 * `ERR_DPOP_ISSUER_UNAVAILABLE` (a 503 with `Retry-After`), never a pass.
 */
export class IssuerMetadataClient {
  private document: IssuerMetadata | undefined;
  private fetchedAt = 0;
  private failedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<IssuerMetadata> | undefined;
  private readonly clock: () => number;
  private readonly retryAfterMs: number;

  constructor(
    readonly issuer: string,
    private readonly options: IssuerMetadataClientOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.retryAfterMs = options.retryAfterMs ?? 1000;
  }

  /** The metadata, fetched when there is none or it is older than `maxAgeMs`. */
  async get(): Promise<IssuerMetadata> {
    const now = this.clock();
    if (this.document !== undefined && now - this.fetchedAt < this.options.maxAgeMs) {
      return this.document;
    }
    if (this.pending !== undefined) return this.pending;
    if (now - this.failedAt < this.retryAfterMs) throw this.unavailable();
    this.pending = this.fetchDocument().then(
      (document) => {
        this.document = document;
        this.fetchedAt = this.clock();
        this.pending = undefined;
        return document;
      },
      (cause: unknown) => {
        this.failedAt = this.clock();
        this.pending = undefined;
        throw this.unavailable(cause);
      },
    );
    return this.pending;
  }

  private unavailable(cause?: unknown): DPoPError {
    return new DPoPError(
      'ERR_DPOP_ISSUER_UNAVAILABLE',
      'The authorization server metadata could not be read; try again later',
      { cause, retryAfter: Math.ceil(this.retryAfterMs / 1000) },
    );
  }

  private async fetchDocument(): Promise<IssuerMetadata> {
    const first = await this.fetchJson(authorizationServerMetadataUrl(this.issuer));
    const body = first ?? (await this.fetchJson(openIdConfigurationUrl(this.issuer)));
    if (body === undefined) throw new Error(`No metadata found for issuer ${this.issuer}`);
    if (body.issuer !== this.issuer) {
      throw new Error(
        `The metadata of ${this.issuer} names another issuer (${String(body.issuer)})`,
      );
    }
    return body as IssuerMetadata;
  }

  /** The JSON object at `url`, `undefined` on a 4xx (not published there); throws otherwise. */
  private async fetchJson(url: string): Promise<Record<string, unknown> | undefined> {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (response.status >= 400 && response.status < 500) {
      await response.body?.cancel();
      return undefined;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`${url} answered ${response.status}`);
    }
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Error(`${url} did not answer a JSON object`);
    }
    return body as Record<string, unknown>;
  }
}
