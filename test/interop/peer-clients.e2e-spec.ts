import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as panva from 'dpop';
import * as oauth from 'oauth4webapi';
import { calculateJwkThumbprint } from 'jose';
import { SUPPORTED_DPOP_ALGORITHMS } from 'nest-dpop';
import { startSampleServer, type SampleServer } from '../../examples/arcp-demo/sample-server.js';
import { runArcpFlow, type FlowOutcome, type SendRequest } from './support/arcp-flow.js';

/**
 * DPoP clients nobody here wrote, through the whole sample-app flow over real HTTP: panva's
 * `dpop` and `oauth4webapi` (its `protectedResourceRequest`, which sends `Authorization: DPoP`
 * with a proof carrying `ath`), for every algorithm each can sign with. Once with the default
 * algorithms (where the opt-in ones must be refused, by `code`), once with all of them enabled.
 */

const AGENT_KEY = 'interop-agent-key-0123456789';

/** WebCrypto key parameters per JOSE algorithm (what a browser or Node client would use). */
const WEBCRYPTO: Record<
  string,
  webcrypto.AlgorithmIdentifier | webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams
> = {
  Ed25519: { name: 'Ed25519' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  ES512: { name: 'ECDSA', namedCurve: 'P-521' },
  ...Object.fromEntries(
    (['RS', 'PS'] as const).flatMap((family) =>
      (['256', '384', '512'] as const).map((bits) => [
        `${family}${bits}`,
        {
          name: family === 'RS' ? 'RSASSA-PKCS1-v1_5' : 'RSA-PSS',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: `SHA-${bits}`,
        },
      ]),
    ),
  ),
};

/** What panva `dpop` 2.x can sign with, and what oauth4webapi 3.x can (ML-DSA aside). */
const PANVA_ALGS = ['Ed25519', 'ES256', 'RS256', 'PS256'] as const;
const OAUTH4WEBAPI_ALGS = [
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;
const DEFAULTS = new Set(['EdDSA', 'Ed25519', 'ES256', 'RS256']);

interface PeerClient {
  readonly jkt: string;
  readonly send: SendRequest;
}

async function panvaClient(alg: (typeof PANVA_ALGS)[number]): Promise<PeerClient> {
  const keys = await panva.generateKeyPair(alg, { extractable: true });
  return {
    jkt: await panva.calculateThumbprint(keys.publicKey),
    send: async (method, url, { token, body }) => {
      const proof = await panva.generateProof(keys, url, method, undefined, token);
      return fetch(url, {
        method,
        headers: {
          DPoP: proof,
          ...(token !== undefined && { Authorization: `DPoP ${token}` }),
          ...(body !== undefined && { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
  };
}

async function oauth4webapiClient(alg: (typeof OAUTH4WEBAPI_ALGS)[number]): Promise<PeerClient> {
  const keys = (await webcrypto.subtle.generateKey(WEBCRYPTO[alg]!, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const handle = oauth.DPoP({ client_id: 'interop' } as oauth.Client, keys);
  const jkt = await calculateJwkThumbprint(await webcrypto.subtle.exportKey('jwk', keys.publicKey));
  return {
    jkt,
    send: async (method, url, { token, body }) => {
      const headers = new Headers(body === undefined ? {} : { 'Content-Type': 'application/json' });
      const payload = body === undefined ? undefined : JSON.stringify(body);
      if (token === undefined) {
        // A request without a token (ARCP's temp-token request): the proof oauth4webapi's own
        // token-endpoint requests carry, from the same handle.
        await (
          handle as unknown as {
            addProof(url: URL, headers: Headers, htm: string): Promise<void>;
          }
        ).addProof(new URL(url), headers, method);
        return fetch(url, { method, headers, body: payload });
      }
      try {
        return await oauth.protectedResourceRequest(token, method, new URL(url), headers, payload, {
          DPoP: handle,
          [oauth.allowInsecureRequests]: true,
        });
      } catch (error) {
        // A 401 with a challenge is thrown; the flow wants the answer itself.
        const response = (error as { response?: Response }).response;
        if (response instanceof Response) return response;
        throw error;
      }
    },
  };
}

/** The client × algorithm matrix as measured, printed once at the end (and asserted). */
const matrix: string[] = [];

describe.each([
  ['the default algorithms', {}],
  ['every algorithm enabled', { DPOP_ALGORITHMS: SUPPORTED_DPOP_ALGORITHMS.join(',') }],
] as const)('the sample app with %s', (label, env) => {
  let server: SampleServer;
  beforeAll(async () => {
    server = await startSampleServer({ AGENT_KEYS: AGENT_KEY, ...env });
  });
  afterAll(async () => {
    await server?.close();
  });

  const expectOutcome = (outcome: FlowOutcome, alg: string, client: string): void => {
    const enabled = label === 'every algorithm enabled' || DEFAULTS.has(alg);
    matrix.push(
      `${client.padEnd(13)} ${alg.padEnd(8)} ${label.padEnd(24)} ` +
        (outcome.passed
          ? 'flow passed'
          : `refused at ${outcome.step}: ${outcome.status} ${String(outcome.code)}`),
    );
    if (enabled) expect(outcome).toEqual({ passed: true, jkt: expect.any(String) });
    else {
      expect(outcome).toEqual({
        passed: false,
        step: 'request_temp_token',
        status: 401,
        code: 'ERR_DPOP_UNSUPPORTED_ALG',
      });
    }
  };

  it('advertises exactly the accepted algorithms in discovery and in the algs challenge', async () => {
    const expected =
      label === 'every algorithm enabled'
        ? [...SUPPORTED_DPOP_ALGORITHMS]
        : ['EdDSA', 'Ed25519', 'ES256', 'RS256'];
    const config = (await (
      await fetch(`${server.url}/.well-known/arcp-configuration`)
    ).json()) as Record<string, unknown>;
    expect(config.dpop_signing_alg_values_supported).toEqual(expected);
    const refused = await fetch(`${server.url}/auth/agent/request_temp_token`, {
      method: 'POST',
      headers: { DPoP: 'not.a.proof', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain(`algs="${expected.join(' ')}"`);
  });

  it.each(PANVA_ALGS)('panva dpop, %s', async (alg) => {
    const client = await panvaClient(alg);
    const outcome = await runArcpFlow(server.url, AGENT_KEY, client.send, client.jkt);
    expectOutcome(outcome, alg, 'panva dpop');
  });

  it.each(OAUTH4WEBAPI_ALGS)('oauth4webapi, %s', async (alg) => {
    const client = await oauth4webapiClient(alg);
    const outcome = await runArcpFlow(server.url, AGENT_KEY, client.send, client.jkt);
    expectOutcome(outcome, alg, 'oauth4webapi');
  });
});

afterAll(() => {
  if (process.env.INTEROP_MATRIX === '1') process.stdout.write(`\n${matrix.join('\n')}\n`);
});
