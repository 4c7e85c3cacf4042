import { webcrypto } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import * as panva from 'dpop';
import * as oauth from 'oauth4webapi';
import { calculateJwkThumbprint } from 'jose';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { startRedisServer, stopAllRedisServers } from '../support/redis-servers.js';
import { runArcpFlow, type SendRequest } from './support/arcp-flow.js';

/**
 * Peer clients (panva's `dpop`, oauth4webapi) through the whole sample-app flow on a Redis whose
 * replay history the store takes for lost: a fresh one, then the same one restarted empty, at
 * the default settings (clock skew 60 s). Each client does what its documentation says for a
 * `use_dpop_nonce` answer, retry once with the nonce, and so passes at once.
 */
const AGENT_KEY = 'interop-recovery-agent-key-0123456789';
let server: SampleServer | undefined;

afterAll(async () => {
  await server?.close();
  await stopAllRedisServers();
});

/** RFC 9449 §8 and §9: the answer that asks for a (new) nonce. */
async function asksForNonce(response: Response): Promise<boolean> {
  if (response.headers.get('dpop-nonce') === null) return false;
  if (response.status === 401) {
    return /error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') ?? '');
  }
  if (response.status !== 400) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { error?: unknown };
  return body.error === 'use_dpop_nonce';
}

interface Counted {
  send: SendRequest;
  jkt: string;
  /** How many answers asked for a nonce. */
  challenges: () => number;
}

async function panvaClient(): Promise<Counted> {
  const keys = await panva.generateKeyPair('ES256');
  let nonce: string | undefined;
  let challenges = 0;
  const send: SendRequest = async (method, url, { token, body }) => {
    const once = async () =>
      fetch(url, {
        method,
        headers: {
          DPoP: await panva.generateProof(keys, url, method, nonce, token),
          ...(token !== undefined && { Authorization: `DPoP ${token}` }),
          ...(body !== undefined && { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response = await once();
    nonce = response.headers.get('dpop-nonce') ?? nonce;
    if (await asksForNonce(response)) {
      challenges++;
      response = await once();
      nonce = response.headers.get('dpop-nonce') ?? nonce;
    }
    return response;
  };
  return {
    send,
    jkt: await panva.calculateThumbprint(keys.publicKey),
    challenges: () => challenges,
  };
}

async function oauth4webapiClient(): Promise<Counted> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as unknown as webcrypto.CryptoKeyPair;
  const handle = oauth.DPoP({ client_id: 'interop' } as oauth.Client, keys) as oauth.DPoPHandle & {
    addProof(url: URL, headers: Headers, htm: string): Promise<void>;
    cacheNonce(response: Response, url: URL): void;
  };
  let challenges = 0;
  const send: SendRequest = async (method, url, { token, body }) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const once = async (): Promise<Response> => {
      const headers = new Headers(body === undefined ? {} : { 'Content-Type': 'application/json' });
      if (token === undefined) {
        // A request without a token: the proof of oauth4webapi's own token-endpoint requests.
        await handle.addProof(new URL(url), headers, method);
        const response = await fetch(url, { method, headers, body: payload });
        handle.cacheNonce(response, new URL(url));
        return response;
      }
      try {
        return await oauth.protectedResourceRequest(token, method, new URL(url), headers, payload, {
          DPoP: handle,
          [oauth.allowInsecureRequests]: true,
        });
      } catch (error) {
        const response = (error as { response?: Response }).response;
        if (response instanceof Response) return response;
        throw error;
      }
    };
    const response = await once();
    // oauth4webapi's documented pattern: on a DPoP nonce error, retry once (it cached the nonce).
    if (!(await asksForNonce(response))) return response;
    challenges++;
    return once();
  };
  const jkt = await calculateJwkThumbprint(await webcrypto.subtle.exportKey('jwk', keys.publicKey));
  return { send, jkt, challenges: () => challenges };
}

describe('peer clients on the sample app over a fresh, then restarted, Redis', () => {
  it.each([
    ['panva dpop', panvaClient],
    ['oauth4webapi', oauth4webapiClient],
  ] as const)(
    '%s: the whole flow passes at once, and again right after a restart',
    async (_name, make) => {
      const redis = await startRedisServer();
      server = await startSampleServer({
        AGENT_KEYS: AGENT_KEY,
        REDIS_URL: `redis://${redis.address}`,
      });
      const client = await make();
      const started = Date.now();
      expect(await runArcpFlow(server.url, AGENT_KEY, client.send, client.jkt)).toEqual({
        passed: true,
        jkt: client.jkt,
      });
      expect(Date.now() - started).toBeLessThan(3000);
      // The fresh Redis asked for a nonce at least once: the recovery was exercised.
      expect(client.challenges()).toBeGreaterThan(0);

      await redis.stop();
      await redis.start();
      // Give the app's client its reconnect (it retries every 50–500 ms).
      const restarted = Date.now();
      for (;;) {
        const outcome = await runArcpFlow(server.url, AGENT_KEY, client.send, client.jkt);
        if (outcome.passed) break;
        expect(outcome).toMatchObject({ status: 503 });
        if (Date.now() - restarted > 3000) throw new Error(JSON.stringify(outcome));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(Date.now() - restarted).toBeLessThan(3000);
      await server.close();
      server = undefined;
    },
    30_000,
  );
});
