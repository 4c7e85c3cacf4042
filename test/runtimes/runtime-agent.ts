/**
 * An agent that runs under Bun or Deno (not Node): the test bundles this file with the client
 * core (esbuild, ESM, platform neutral) and runs the bundle with the runtime's own binary.
 * Nothing from `node:` may be used here, only what the core and the runtime offer (WebCrypto,
 * `fetch`).
 *
 * For each algorithm the runtime's WebCrypto can generate, against the server at argv[0]:
 * a non-extractable key, a bound token from the token endpoint (a `use_dpop_nonce` challenge
 * answered on the way), the bound route with that token, then a proof for the wrong `htu`
 * (the server must refuse it). One JSON line on stdout says what happened.
 */
import {
  createDPoPFetch,
  DPoPGenerator,
  DPoPNonceStore,
  type DPoPClientAlgorithm,
} from '../../libs/dpop-client/src/index.js';

/** What the agent reports for one algorithm. */
export interface RuntimeAlgorithmReport {
  alg: DPoPClientAlgorithm;
  /** Whether the private key could be exported (it must not be). */
  extractable: boolean;
  jkt: string;
  token: { status: number; body: unknown };
  bound: { status: number; body: unknown };
  /** The nonce the agent stored (and put in the wrong-htu proof). */
  nonce: string | undefined;
  wrongHtu: { status: number; wwwAuthenticate: string | null };
}

/** The agent's one line of output. */
export interface RuntimeReport {
  runtime: string;
  version: string;
  results: RuntimeAlgorithmReport[];
  /** Algorithms the runtime's WebCrypto could not generate keys for, with its error. */
  unsupported: { alg: DPoPClientAlgorithm; error: string }[];
}

interface RuntimeGlobals {
  Deno?: { args: string[]; version: { deno: string } };
  Bun?: { version: string };
  process?: { argv: string[] };
}

type KeyPair = Parameters<typeof DPoPGenerator.fromKeyPair>[0];

const KEY_PARAMS: Record<'ES256' | 'EdDSA', { name: string; namedCurve?: string }> = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
};

async function runOne(base: string, alg: 'ES256' | 'EdDSA'): Promise<RuntimeAlgorithmReport> {
  // The key is made here, not by DPoPGenerator.generate, to show it is the runtime's own
  // non-extractable CryptoKey that signs.
  const keys = (await crypto.subtle.generateKey(KEY_PARAMS[alg], false, [
    'sign',
    'verify',
  ])) as unknown as KeyPair;
  const generator = await DPoPGenerator.fromKeyPair(keys, { algorithm: alg });
  const nonces = new DPoPNonceStore();
  const dpopFetch = createDPoPFetch(generator, { nonces });

  const tokenRes = await dpopFetch(`${base}/rt/token`, { method: 'POST' });
  const tokenBody = (await tokenRes.json()) as { access_token?: string };
  const accessToken = tokenBody.access_token ?? '';
  const boundRes = await dpopFetch(`${base}/rt/me`, { accessToken });
  const bound = { status: boundRes.status, body: await boundRes.json() };

  // A proof for another URL, with the current nonce and the right token: only htu is wrong.
  const nonce = nonces.get(base);
  const wrong = await generator.createProof({
    method: 'GET',
    url: `${base}/rt/other`,
    accessToken,
    nonce,
  });
  const wrongRes = await fetch(`${base}/rt/me`, {
    headers: { Authorization: `DPoP ${accessToken}`, DPoP: wrong },
  });
  await wrongRes.body?.cancel();

  return {
    alg,
    extractable: keys.privateKey.extractable,
    jkt: generator.jkt,
    token: { status: tokenRes.status, body: tokenBody },
    bound,
    nonce,
    wrongHtu: {
      status: wrongRes.status,
      wwwAuthenticate: wrongRes.headers.get('WWW-Authenticate'),
    },
  };
}

async function main(): Promise<void> {
  const g = globalThis as RuntimeGlobals;
  const args = g.Deno?.args ?? g.process?.argv.slice(2) ?? [];
  const base = args[0];
  if (base === undefined) throw new Error('usage: runtime-agent <server url>');
  const report: RuntimeReport = {
    runtime: g.Deno ? 'deno' : g.Bun ? 'bun' : 'unknown',
    version: g.Deno?.version.deno ?? g.Bun?.version ?? '',
    results: [],
    unsupported: [],
  };
  for (const alg of ['ES256', 'EdDSA'] as const) {
    try {
      await crypto.subtle.generateKey(KEY_PARAMS[alg], false, ['sign', 'verify']);
    } catch (error) {
      report.unsupported.push({ alg, error: String(error) });
      continue;
    }
    report.results.push(await runOne(base, alg));
  }
  console.log(JSON.stringify(report));
}

await main();
