import { DPoPError } from '../errors/dpop.errors.js';
import type { IssuerMetadataClient } from './issuer-metadata.client.js';

/** What {@link IntrospectionClient} needs, resolved from the module options. */
export interface IntrospectionClientSettings {
  /** The endpoint; `undefined` to read `introspection_endpoint` from the issuer's metadata. */
  readonly endpoint: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
  readonly timeoutMs: number;
}

/**
 * RFC 7662 token introspection as a resource server does it: a `POST` of the token with the
 * resource server's client authentication, answered by a JSON object whose `active` says
 * whether the token is good. A failure to get that answer (network, timeout, a status other
 * than 200, no JSON object) is `ERR_DPOP_ISSUER_UNAVAILABLE` (503), never an inactive token and
 * never a pass.
 */
export class IntrospectionClient {
  private readonly authorization: string | undefined;

  constructor(
    private readonly settings: IntrospectionClientSettings,
    private readonly metadata: IssuerMetadataClient | undefined,
  ) {
    // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
    this.authorization =
      settings.authMethod === 'client_secret_basic'
        ? 'Basic ' +
          Buffer.from(
            `${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`,
          ).toString('base64')
        : undefined;
  }

  /**
   * The introspection response for `token`.
   * @throws {DPoPError} `ERR_DPOP_ISSUER_UNAVAILABLE`
   */
  async introspect(token: string): Promise<Record<string, unknown>> {
    const endpoint = await this.endpoint();
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    if (this.authorization === undefined) {
      form.set('client_id', this.settings.clientId);
      form.set('client_secret', this.settings.clientSecret);
    }
    let body: unknown;
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          ...(this.authorization !== undefined && { authorization: this.authorization }),
        },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`The introspection endpoint answered ${response.status}`);
      }
      body = await response.json();
    } catch (cause) {
      throw unavailable(cause);
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      typeof (body as { active?: unknown }).active !== 'boolean'
    ) {
      throw unavailable(new Error('The introspection response is not an RFC 7662 object'));
    }
    return body as Record<string, unknown>;
  }

  private async endpoint(): Promise<string> {
    if (this.settings.endpoint !== undefined) return this.settings.endpoint;
    const endpoint = (await this.metadata?.get())?.introspection_endpoint;
    if (typeof endpoint !== 'string') {
      throw unavailable(new Error('The issuer metadata has no introspection_endpoint'));
    }
    return endpoint;
  }
}

function unavailable(cause: unknown): DPoPError {
  return new DPoPError(
    'ERR_DPOP_ISSUER_UNAVAILABLE',
    'The access token could not be introspected; try again later',
    { cause, retryAfter: 1 },
  );
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
