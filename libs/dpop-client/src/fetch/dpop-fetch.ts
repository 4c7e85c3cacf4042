import { normalizeMethod, type DPoPGenerator } from '../proof/dpop-generator.js';
import { DPoPNonceStore, nonceOf, originOf, type DPoPNonceStorage } from './dpop-nonce.store.js';
import { dpopChallengeError } from './www-authenticate.util.js';

/** `RequestInit` plus the access token to present with the proof. */
export interface DPoPRequestInit extends RequestInit {
  /**
   * The access token to send. It goes into `Authorization` with `tokenType`, and its hash into
   * the proof's `ath`. Without it, a token already in an `Authorization: DPoP|Bearer` header is
   * hashed instead.
   */
  accessToken?: string;
  /**
   * The `Authorization` scheme: `DPoP` for a DPoP-bound token (RFC 9449 §7.1), `Bearer` for a
   * server that issued `token_type: "Bearer"`. Default `DPoP`.
   */
  tokenType?: 'DPoP' | 'Bearer';
}

/** `fetch` that signs a fresh DPoP proof for every request. */
export type DPoPFetch = (url: string | URL, init?: DPoPRequestInit) => Promise<Response>;

/** Options of {@link createDPoPFetch}. */
export interface DPoPFetchOptions {
  /** The `fetch` to wrap. Default: the platform's `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /**
   * Where server nonces are remembered, per origin. Default: a new in-memory store for this
   * fetch; a shared {@link DPoPNonceStorage} lets many workers use each nonce.
   */
  nonces?: DPoPNonceStorage;
}

/** The `error` a server uses to ask for a nonce (RFC 9449 §8 and §9). */
const USE_DPOP_NONCE = 'use_dpop_nonce';

/**
 * Whether `response` asks for a nonce: 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"`
 * (a resource server, RFC 9449 §9) or 400 with the JSON body `{"error":"use_dpop_nonce"}` (an
 * authorization server, §8). Reads a copy of the body, so the response stays readable.
 */
export async function isNonceChallenge(response: Response): Promise<boolean> {
  if (response.status !== 400 && response.status !== 401) return false;
  if (dpopChallengeError(response.headers.get('WWW-Authenticate')) === USE_DPOP_NONCE) return true;
  const json = /json/i.test(response.headers.get('Content-Type') ?? '');
  if (response.status !== 400 || !json) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown } | null;
    return body?.error === USE_DPOP_NONCE;
  } catch {
    return false;
  }
}

/** A token in an `Authorization: DPoP|Bearer <token>` header, for `ath`. */
function tokenFromAuthorization(value: string | null): string | undefined {
  const match = value === null ? null : /^(?:dpop|bearer)\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/** A body `fetch` can send twice; a stream is consumed by the first attempt. */
function replayable(body: RequestInit['body']): boolean {
  return !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream);
}

/**
 * Wraps `fetch` so that each request carries a new DPoP proof for its method and URL (with
 * `ath` when a token is sent), and a server's nonce challenge is answered: when the server
 * refuses a proof for lack of a nonce and sends one in `DPoP-Nonce`, the request is repeated
 * once with a fresh proof carrying it. The latest nonce of each origin is kept for later
 * requests, so the challenge costs one round trip per nonce, not per request.
 *
 * Redirects are not followed unless `redirect` says so: a proof names one URL, and the token
 * should not travel to wherever a redirect points.
 *
 * @example
 * ```ts
 * const dpopFetch = createDPoPFetch(await DPoPGenerator.generate());
 * const res = await dpopFetch('https://api.example.com/me', { accessToken: token });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export function createDPoPFetch(
  generator: DPoPGenerator,
  options: DPoPFetchOptions = {},
): DPoPFetch {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const nonces = options.nonces ?? new DPoPNonceStore();

  return async (url, init = {}) => {
    const { accessToken, tokenType = 'DPoP', ...requestInit } = init;
    const method = normalizeMethod(requestInit.method ?? 'GET');
    const headers = new Headers(requestInit.headers);
    if (accessToken !== undefined) headers.set('Authorization', `${tokenType} ${accessToken}`);
    const token = accessToken ?? tokenFromAuthorization(headers.get('Authorization'));

    const send = async (nonce: string | undefined): Promise<Response> => {
      // A new proof (new jti, new iat) for every attempt: a server refuses a replayed jti.
      headers.set('DPoP', await generator.createProof({ method, url, accessToken: token, nonce }));
      return fetchImpl(url, { redirect: 'manual', ...requestInit, method, headers });
    };
    const origin = originOf(url);
    const remember = async (response: Response): Promise<string | undefined> => {
      const nonce = nonceOf(response);
      if (nonce !== undefined && origin !== undefined) {
        // A shared store that fails costs a round trip later, never this request.
        await Promise.resolve()
          .then(() => nonces.set(origin, nonce, Date.now()))
          .catch(() => undefined);
      }
      return nonce;
    };

    const stored =
      origin === undefined
        ? undefined
        : await Promise.resolve()
            .then(() => nonces.get(origin))
            .catch(() => undefined);
    const response = await send(stored);
    const nonce = await remember(response);
    const retry =
      nonce !== undefined && replayable(requestInit.body) && (await isNonceChallenge(response));
    if (!retry) return response;
    // Only once: a server that refuses its own fresh nonce will not be argued with.
    await response.body?.cancel();
    const retried = await send(nonce);
    await remember(retried);
    return retried;
  };
}
