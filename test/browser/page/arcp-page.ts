import { createDPoPFetch, DPoPGenerator, DPoPNonceStore } from 'nest-dpop-client';
import { ARCPClient } from 'nest-dpop-client/arcp';

/**
 * The script of the browser test's page (test/browser/browser.e2e-spec.ts), bundled by esbuild
 * for the browser: it imports the WebCrypto core and the ARCP client, never
 * `nest-dpop-client/node`, so the bundle cannot build if either reaches for a `node:` module.
 * It runs the ARCP flow (`runArcp`), or one request (`runFetch`), from its own origin against an
 * API on another, with a key it generates as non-extractable, and reports what the page itself
 * could see.
 */

/** What the test asks the page to do. */
export interface PageRequest {
  /** The sample app, on another origin than the page. */
  baseUrl: string;
  agentKey: string;
  agentId: string;
}

/** One answer seen by the page's `fetch`, as a script can read it (CORS decides what it may). */
export interface SeenResponse {
  method: string;
  path: string;
  status?: number;
  /** `use_dpop_nonce` and the like, from `WWW-Authenticate` (§9) or the JSON body (§8). */
  error?: string;
  /** The `DPoP-Nonce` header as the script reads it: `null` when CORS does not expose it. */
  dpopNonce?: string | null;
  wwwAuthenticate?: string | null;
  /** How `fetch` rejected, e.g. `TypeError: Failed to fetch` for a CORS refusal. */
  rejected?: string;
}

/** What the page reports back to the test. */
export interface PageResult {
  key: {
    algorithm: string;
    jkt: string;
    /** `CryptoKey.extractable` of the private key. */
    extractable: boolean;
    /** The error `exportKey` threw for the private key, or `undefined` if it exported. */
    exportRefused?: string;
  };
  seen: SeenResponse[];
  /** The `token_type` of the temp, validated and access tokens. */
  tokenTypes?: string[];
  accessToken?: string;
  /** The bound heartbeat with a fresh nonce store (a §9 challenge first), then once more. */
  heartbeat?: { status: number; body: unknown };
  heartbeatAgain?: { status: number };
  failure?: { name: string; message: string; code?: string; status?: number; cause?: string };
}

const ERROR_PARAM = /\berror="([^"]*)"/;

/** Platform `fetch`, recording each answer (or rejection) the way this page can read it. */
function recordingFetch(seen: SeenResponse[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const entry: SeenResponse = { method: init?.method ?? 'GET', path: url.pathname };
    seen.push(entry);
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      entry.rejected = `${(error as Error).name}: ${(error as Error).message}`;
      throw error;
    }
    entry.status = response.status;
    entry.dpopNonce = response.headers.get('DPoP-Nonce');
    entry.wwwAuthenticate = response.headers.get('WWW-Authenticate');
    entry.error = ERROR_PARAM.exec(entry.wwwAuthenticate ?? '')?.[1];
    if (entry.error === undefined && response.status === 400) {
      const body = (await response
        .clone()
        .json()
        .catch(() => undefined)) as { error?: string } | undefined;
      entry.error = body?.error;
    }
    return response;
  };
}

function failureOf(error: unknown): NonNullable<PageResult['failure']> {
  const e = error as Error & { code?: string; status?: number };
  const cause = e.cause as Error | undefined;
  return {
    name: e.name,
    message: e.message,
    code: e.code,
    status: e.status,
    cause: cause === undefined ? undefined : `${cause.name}: ${cause.message}`,
  };
}

/**
 * A generator for a key made here with the browser's own WebCrypto, not extractable: no script
 * (this one included) can read the private key; the generator can only ask the browser to sign.
 */
async function pageKey(): Promise<{ generator: DPoPGenerator; key: PageResult['key'] }> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  const exportRefused = await crypto.subtle.exportKey('pkcs8', pair.privateKey).then(
    () => undefined,
    (error: Error) => `${error.name}: ${error.message}`,
  );
  const generator = await DPoPGenerator.fromKeyPair(pair);
  const key = {
    algorithm: generator.algorithm,
    jkt: generator.jkt,
    extractable: pair.privateKey.extractable,
    exportRefused,
  };
  return { generator, key };
}

/** What {@link runFetch} reports: one POST through the core's fetch wrapper. */
export interface FetchResult {
  key: PageResult['key'];
  seen: SeenResponse[];
  answer?: { status: number; body: unknown };
  failure?: PageResult['failure'];
}

/** One `POST url` with a proof from a new key, through `createDPoPFetch` (no nonce known yet). */
async function runFetch(request: { url: string }): Promise<FetchResult> {
  const { generator, key } = await pageKey();
  const result: FetchResult = { key, seen: [] };
  try {
    const dpopFetch = createDPoPFetch(generator, { fetch: recordingFetch(result.seen) });
    const res = await dpopFetch(request.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    result.answer = { status: res.status, body: await res.json() };
  } catch (error) {
    result.failure = failureOf(error);
  }
  return result;
}

/** Registers an agent in three phases from this page, then calls its bound heartbeat. */
async function runArcp(request: PageRequest): Promise<PageResult> {
  const { generator, key } = await pageKey();
  const result: PageResult = { key, seen: [] };
  const recording = recordingFetch(result.seen);
  try {
    const client = new ARCPClient({
      baseUrl: request.baseUrl,
      generator,
      fetch: recording,
      pollIntervalMs: 25,
    });
    const flow = await client.register({
      agent_key: request.agentKey,
      registration: {
        agent_id: request.agentId,
        name: 'Browser Agent',
        agent_type: 'automation',
        endpoint: 'https://agent.example.com:8443',
        capabilities: ['processing'],
        context_brief: 'An agent registered from a page in a real browser.',
        owner: 'browser-test',
        public_key: generator.publicKeyPem,
        metadata: { runtime: 'chromium' },
        version: '1.0.0',
        communication_mode: 'remote',
      },
    });
    result.tokenTypes = [flow.temp, flow.validation, flow.registration].map((r) =>
      String(r.token_type),
    );
    result.accessToken = flow.accessToken.value;

    // The core's fetch wrapper alone, with a nonce store that knows no nonce yet: the bound
    // route refuses with 401 use_dpop_nonce (RFC 9449 §9) and the wrapper answers it.
    const url = `${request.baseUrl}/agents/${encodeURIComponent(request.agentId)}/heartbeat`;
    const nonces = new DPoPNonceStore();
    const init = {
      method: 'POST',
      accessToken: flow.accessToken.value,
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    };
    const beat = await createDPoPFetch(generator, { fetch: recording, nonces })(url, init);
    result.heartbeat = { status: beat.status, body: await beat.json() };
    // Once more on the platform's fetch (the wrapper's default), with the nonce just learnt.
    const again = await createDPoPFetch(generator, { nonces })(url, init);
    result.heartbeatAgain = { status: again.status };
  } catch (error) {
    result.failure = failureOf(error);
  }
  return result;
}

Object.assign(globalThis, { runArcp, runFetch });
