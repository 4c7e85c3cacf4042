import type {
  AgentInfo,
  AgentRegistration,
  HeartbeatResponse,
  IssuedToken,
  RegistrationFlowResult,
  RegistrationResponse,
  TempTokenRequest,
  TempTokenResponse,
  TokenInput,
  ValidationRequest,
  ValidationStatusResponse,
  WithToken,
} from './arcp.types.js';
import { DPoPClientError, type ProblemDetails } from '../errors/client.errors.js';
import { ARCPClientError, httpErrorOf } from './arcp.errors.js';
import type {
  ARCPClientOptions,
  ARCPRequestOptions,
  ARCPResponse,
  RegisterOptions,
  ValidateComplianceOptions,
} from './arcp-client.options.js';
import { createDPoPFetch, type DPoPFetch } from '../fetch/dpop-fetch.js';
import { DPoPGenerator, type DPoPClientAlgorithm } from '../proof/dpop-generator.js';
import { DPoPNonceStore } from '../fetch/dpop-nonce.store.js';
import {
  rotateAgentKey,
  type KeyRotationResult,
  type RotateKeyOptions,
} from './arcp-key-rotation.js';
import {
  asToken,
  DEFAULTS,
  isObject,
  issuedToken,
  retryAfterMs,
  ROUTES,
  sleep,
  validationName,
} from './arcp-client.util.js';

/**
 * A DPoP-enabled client for ARCP's agent registration flow, on the platform `fetch`: the
 * TypeScript counterpart of the spec's Python `DPoPARCPClient`.
 *
 * - Every request carries a fresh proof from {@link ARCPClientOptions.generator}; requests with a
 *   token carry its `ath`, and present it as `DPoP <token>` when the server issued a DPoP token
 *   type, else as `Bearer <token>`.
 * - A `use_dpop_nonce` challenge is answered once with the server's nonce, and the latest nonce
 *   of the server is used from then on.
 * - A refusal throws an {@link ARCPClientError} carrying `status`, the server's `problem` body
 *   and a stable `code`.
 *
 * @example
 * ```ts
 * const generator = await DPoPGenerator.generate();
 * const client = new ARCPClient({ baseUrl: 'https://arcp.example.com', generator });
 * const { accessToken } = await client.register({ agent_key, registration });
 * await client.heartbeat(registration.agent_id);
 * ```
 */
export class ARCPClient {
  /** The agent's key pair; `generator.jkt` is the thumbprint tokens get bound to. */
  readonly generator: DPoPGenerator;
  /** The server's nonces, shared by every request of this client. */
  readonly nonces: DPoPNonceStore;

  readonly #base: URL;
  readonly #init: ARCPClientOptions;
  readonly #fetch: DPoPFetch;
  readonly #options: Required<
    Pick<ARCPClientOptions, 'requestTimeoutMs' | 'validationTimeoutMs' | 'maxPollIntervalMs'>
  > &
    Pick<ARCPClientOptions, 'pollIntervalMs'>;
  #accessToken: IssuedToken | undefined;

  constructor(options: ARCPClientOptions) {
    const base = URL.parse(String(options.baseUrl));
    if (base === null || (base.protocol !== 'http:' && base.protocol !== 'https:')) {
      throw new DPoPClientError(
        'ERR_DPOP_CLIENT_INVALID_REQUEST',
        `baseUrl must be an absolute http(s) URL, got "${String(options.baseUrl)}"`,
      );
    }
    base.search = '';
    base.hash = '';
    // A trailing slash makes `new URL('auth/…', base)` keep a path prefix such as /arcp.
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#base = base;
    this.#init = options;
    this.generator = options.generator;
    this.nonces = options.nonces ?? new DPoPNonceStore();
    this.#fetch = createDPoPFetch(options.generator, { fetch: options.fetch, nonces: this.nonces });
    this.#options = {
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      validationTimeoutMs: options.validationTimeoutMs ?? DEFAULTS.validationTimeoutMs,
      maxPollIntervalMs: options.maxPollIntervalMs ?? DEFAULTS.maxPollIntervalMs,
      pollIntervalMs: options.pollIntervalMs,
    };
  }

  /**
   * A client with a new key pair, as the Python client makes one by default.
   * @example const client = await ARCPClient.create({ baseUrl, algorithm: 'ES256' });
   */
  static async create(
    options: Omit<ARCPClientOptions, 'generator'> & { algorithm?: DPoPClientAlgorithm },
  ): Promise<ARCPClient> {
    const { algorithm, ...rest } = options;
    return new ARCPClient({ ...rest, generator: await DPoPGenerator.generate(algorithm) });
  }

  /** The server's base URL, with a trailing slash. */
  get baseUrl(): string {
    return this.#base.href;
  }

  /** The JWK thumbprint of the agent's key (the spec's `get_dpop_jkt()`). */
  get jkt(): string {
    return this.generator.jkt;
  }

  /** The access token from the last registration, used by `heartbeat` and `getAgent` by default. */
  get accessToken(): IssuedToken | undefined {
    return this.#accessToken;
  }

  set accessToken(token: TokenInput | undefined) {
    this.#accessToken = token === undefined ? undefined : asToken(token);
  }

  /**
   * Phase 1: a temporary token for an agent registration key. The proof carries no `ath`
   * (there is no token yet); a server that binds tokens binds this one to `jkt`.
   */
  async requestTempToken(
    request: TempTokenRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<WithToken<TempTokenResponse>> {
    const { body } = await this.request<TempTokenResponse>('POST', ROUTES.tempToken, {
      body: request,
      ...options,
    });
    if (typeof body.temp_token !== 'string' || body.temp_token === '') {
      throw this.invalidResponse(ROUTES.tempToken, 'no temp_token in the answer');
    }
    return { ...body, token: issuedToken(body.temp_token, body.token_type, body.expires_in) };
  }

  /**
   * Phase 2: asks the server to validate the agent, then follows its 202 and polls
   * `polling_url` (or `GET /auth/agent/validation/:id`) until the validation passed or failed.
   *
   * @returns the `passed` status, with its validated token
   * @throws {ARCPClientError} `ERR_ARCP_VALIDATION_FAILED` (its `problem` is the `failed` status,
   *   with `errors`), `ERR_ARCP_VALIDATION_TIMEOUT`, or the server's refusal
   */
  async validateCompliance(
    tempToken: TokenInput,
    request: ValidationRequest,
    options: ValidateComplianceOptions = {},
  ): Promise<WithToken<ValidationStatusResponse>> {
    const token = asToken(tempToken);
    const timeoutMs = options.validationTimeoutMs ?? this.#options.validationTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let answer = await this.request<ValidationStatusResponse>('POST', ROUTES.validate, {
      token,
      body: request,
      signal: options.signal,
    });
    const pollUrl = this.pollUrlOf(answer.body, answer.headers);

    for (;;) {
      const status = answer.body;
      if (status.status === 'passed') return this.passed(status);
      if (status.status === 'failed') throw this.failed(status);
      options.onPending?.(status);
      if (pollUrl === undefined) {
        throw this.invalidResponse(ROUTES.validate, 'pending without validation_id or polling_url');
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ARCPClientError(
          'ERR_ARCP_VALIDATION_TIMEOUT',
          `${validationName(status)} still pending after ${timeoutMs} ms`,
        );
      }
      const suggested = retryAfterMs(status, answer.headers);
      // A server's hint is bounded both ways: `retry_after: 0` must not become a busy loop.
      const interval =
        options.pollIntervalMs ??
        this.#options.pollIntervalMs ??
        Math.max(
          DEFAULTS.minPollIntervalMs,
          Math.min(suggested ?? DEFAULTS.pollIntervalMs, this.#options.maxPollIntervalMs),
        );
      await sleep(Math.min(interval, remaining), options.signal);
      answer = await this.request<ValidationStatusResponse>('GET', pollUrl, {
        token,
        signal: options.signal,
      });
    }
  }

  /**
   * Phase 3: registers the agent with the validated token (and a proof from the same key).
   * The access token it returns is remembered for {@link heartbeat} and {@link getAgent}.
   */
  async registerAgent(
    validatedToken: TokenInput,
    registration: AgentRegistration,
    options: { signal?: AbortSignal } = {},
  ): Promise<WithToken<RegistrationResponse>> {
    const { body } = await this.request<RegistrationResponse>('POST', ROUTES.register, {
      token: validatedToken,
      body: registration,
      ...options,
    });
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw this.invalidResponse(ROUTES.register, 'no access_token in the answer');
    }
    const token = issuedToken(body.access_token, body.token_type, body.expires_in);
    this.#accessToken = token;
    return { ...body, token };
  }

  /**
   * The whole three-phase registration: temp token, compliance validation (with polling), and
   * registration, all with proofs from this client's key.
   */
  async register(options: RegisterOptions): Promise<RegistrationFlowResult> {
    const { registration: reg, onStep, signal } = options;
    const temp = await this.requestTempToken(
      { agent_id: reg.agent_id, agent_type: reg.agent_type, agent_key: options.agent_key },
      { signal },
    );
    onStep?.({ phase: 'temp_token', response: temp });

    const validationRequest: ValidationRequest = {
      agent_id: reg.agent_id,
      agent_type: reg.agent_type,
      endpoint: reg.endpoint,
      capabilities: reg.capabilities,
      communication_mode: reg.communication_mode,
      version: reg.version,
      ...options.validation,
    };
    const validation = await this.validateCompliance(temp.token, validationRequest, {
      signal,
      validationTimeoutMs: options.validationTimeoutMs,
      pollIntervalMs: options.pollIntervalMs,
      onPending: (response) => onStep?.({ phase: 'validation_pending', response }),
    });
    onStep?.({ phase: 'validation_passed', response: validation });

    const registration = await this.registerAgent(validation.token, reg, { signal });
    onStep?.({ phase: 'registered', response: registration });
    return { temp, validation, registration, accessToken: registration.token };
  }

  /**
   * Moves the agent to a new key through the normal flow, under ARCP's re-registration rule (a
   * live agent_id is never registered again): with this client's key and access token it reads
   * the agent's record and waits until the server no longer counts the agent alive (the agent
   * must have stopped its heartbeats: the server's heartbeat timeout, 60 s by default, after the
   * last one), then runs the three phases with `generator`, so the new access token is bound to
   * the new key, and checks that the server now refuses the old token.
   *
   * This client is left as it was; the returned `client` (same server, `fetch` and nonce store,
   * the new key and its access token) is the agent's from now on. Deleting the old private key
   * is the caller's business.
   *
   * @example
   * ```ts
   * const next = await DPoPGenerator.generate('ES256');
   * const { client: rotated, oldTokenRefusal } = await client.rotateKey(next, {
   *   agent_id: 'my-agent',
   *   agent_key: process.env.ARCP_AGENT_KEY!,
   * });
   * await rotated.heartbeat('my-agent');
   * ```
   * @throws {ARCPClientError} `ERR_ARCP_AGENT_STILL_ALIVE` when the agent kept heartbeating for
   *   `lapseTimeoutMs`; `ERR_ARCP_ROTATION_SAME_KEY`; or the server's refusal of any step (e.g.
   *   `ERR_ARCP_TOKEN_INVALID` when the old token no longer speaks for the agent)
   */
  rotateKey(generator: DPoPGenerator, options: RotateKeyOptions): Promise<KeyRotationResult> {
    const next = new ARCPClient({ ...this.#init, generator, nonces: this.nonces });
    return rotateAgentKey(this, next, options);
  }

  /** `POST /agents/:agent_id/heartbeat`, with the agent's access token and a proof. */
  async heartbeat(
    agentId: string,
    options: {
      accessToken?: TokenInput;
      body?: Record<string, unknown>;
      signal?: AbortSignal;
    } = {},
  ): Promise<HeartbeatResponse> {
    const { body } = await this.request<HeartbeatResponse>('POST', ROUTES.heartbeat(agentId), {
      token: this.tokenFor(options.accessToken),
      body: options.body ?? {},
      signal: options.signal,
    });
    return body;
  }

  /** `GET /agents/:agent_id`, with the agent's access token and a proof. */
  async getAgent(
    agentId: string,
    options: { accessToken?: TokenInput; signal?: AbortSignal } = {},
  ): Promise<AgentInfo> {
    const { body } = await this.request<AgentInfo>('GET', ROUTES.agent(agentId), {
      token: this.tokenFor(options.accessToken),
      signal: options.signal,
    });
    return body;
  }

  /**
   * Any request to the server, with a proof (and `ath` when `token` is given): for routes this
   * class has no method for.
   * @param path a path under the base URL (`/agents/x`), or an absolute URL
   * @throws {ARCPClientError} for a non-2xx answer, a network failure or a non-JSON answer
   */
  async request<T>(
    method: string,
    path: string | URL,
    options: ARCPRequestOptions = {},
  ): Promise<ARCPResponse<T>> {
    const url = this.resolve(path);
    const token = options.token === undefined ? undefined : asToken(options.token);
    const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
    const headers: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
    };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        accessToken: token?.value,
        tokenType: token?.type,
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (cause) {
      if (cause instanceof DPoPClientError) throw cause;
      // The caller's own abort is theirs to handle, as with fetch.
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) {
        throw new ARCPClientError(
          'ERR_ARCP_REQUEST_TIMEOUT',
          `${method} ${url.pathname}: no answer within ${this.#options.requestTimeoutMs} ms`,
          { cause },
        );
      }
      // undici's "fetch failed" hides the reason (ECONNREFUSED, …) in its cause.
      const reason =
        cause instanceof Error
          ? ((cause.cause as Error | undefined)?.message ?? cause.message)
          : String(cause);
      throw new ARCPClientError('ERR_ARCP_NETWORK', `${method} ${url.pathname}: ${reason}`, {
        cause,
      });
    }

    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) throw httpErrorOf(method, url, response, body, text);
    if (!isObject(body)) {
      const reason = `the ${response.status} answer is not a JSON object`;
      throw this.invalidResponse(url.pathname, reason, response.status);
    }
    return { status: response.status, headers: response.headers, body: body as T };
  }

  private resolve(path: string | URL): URL {
    if (path instanceof URL) return path;
    // '/agents/x' is relative to the base URL's path, not to the host's root.
    return new URL(path.replace(/^\/+/, ''), this.#base);
  }

  private tokenFor(token: TokenInput | undefined): IssuedToken {
    const chosen = token === undefined ? this.#accessToken : asToken(token);
    if (chosen === undefined) {
      throw new ARCPClientError(
        'ERR_ARCP_NO_ACCESS_TOKEN',
        'no access token: register first, or pass accessToken',
      );
    }
    return chosen;
  }

  /**
   * Where to poll: the server's `polling_url` (or `Location`) when it is on the same origin as
   * the base URL, else the standard route. The temp token must not be sent to another origin
   * just because an answer named it.
   */
  private pollUrlOf(status: ValidationStatusResponse, headers: Headers): URL | undefined {
    for (const candidate of [status.polling_url, headers.get('Location')]) {
      if (typeof candidate !== 'string' || candidate === '') continue;
      const url = URL.parse(candidate, this.#base.href);
      if (url !== null && url.origin === this.#base.origin) return url;
    }
    return typeof status.validation_id === 'string' && status.validation_id !== ''
      ? this.resolve(ROUTES.validation(status.validation_id))
      : undefined;
  }

  private passed(status: ValidationStatusResponse): WithToken<ValidationStatusResponse> {
    if (typeof status.validated_token !== 'string' || status.validated_token === '') {
      throw this.invalidResponse(ROUTES.validate, 'a passed validation without validated_token');
    }
    const token = issuedToken(status.validated_token, status.token_type, status.expires_in);
    return { ...status, token };
  }

  private failed(status: ValidationStatusResponse): ARCPClientError {
    const reasons = (status.errors ?? [])
      .map((e) => e.message ?? e.type)
      .filter((m): m is string => typeof m === 'string');
    const detail = reasons.length > 0 ? reasons.join('; ') : undefined;
    // The failed status is not a problem document; this one carries all of it, errors included.
    const problem: ProblemDetails = {
      title: typeof status.message === 'string' ? status.message : 'Validation failed',
      ...(detail !== undefined && { detail }),
      validation_id: status.validation_id,
      errors: status.errors ?? [],
      warnings: status.warnings ?? [],
      validation: status,
    };
    return new ARCPClientError(
      'ERR_ARCP_VALIDATION_FAILED',
      `${validationName(status)} failed${detail !== undefined ? `: ${detail}` : ''}`,
      { problem },
    );
  }

  private invalidResponse(path: string, reason: string, status?: number): ARCPClientError {
    return new ARCPClientError('ERR_ARCP_INVALID_RESPONSE', `${path}: ${reason}`, { status });
  }
}
