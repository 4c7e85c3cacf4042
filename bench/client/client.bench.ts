import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { DPoPGenerator, type DPoPClientAlgorithm } from 'nest-dpop-client';
import { generatorFromKey } from 'nest-dpop-client/node';

/**
 * The client side (issue 22 item 6): the browser bundle size of the WebCrypto core (and with
 * the ARCP client), and the cost of one proof per algorithm with a non-extractable WebCrypto
 * key beside a node:crypto key (what key files use), in the same run.
 */

const SOURCES = fileURLToPath(new URL('../../../libs/dpop-client/src/', import.meta.url));
const URL_ = 'https://api.example.com/agents/a1/heartbeat';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhMSJ9.c2ln';

const NODE_KEYS: Record<'EdDSA' | 'ES256' | 'ES384' | 'RS256' | 'PS256', () => KeyObject> = {
  EdDSA: () => generateKeyPairSync('ed25519').privateKey,
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  ES384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
};

async function microsPerProof(generator: DPoPGenerator, proofs: number): Promise<number> {
  for (let i = 0; i < Math.min(200, proofs); i++) {
    await generator.createProof({ method: 'POST', url: URL_, accessToken: TOKEN });
  }
  const started = performance.now();
  for (let i = 0; i < proofs; i++) {
    await generator.createProof({ method: 'POST', url: URL_, accessToken: TOKEN });
  }
  return ((performance.now() - started) * 1000) / proofs;
}

async function bundle(entry: string): Promise<{ minified: number; gzip: number }> {
  const result = await build({
    entryPoints: [`${SOURCES}${entry}`],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
  });
  const bytes = result.outputFiles[0]!.contents;
  return { minified: bytes.length, gzip: gzipSync(bytes).length };
}

/** Runs the client section; returns its markdown. */
export async function benchClient(quick: boolean, log: (line: string) => void): Promise<string> {
  const lines = [
    '## The client: browser bundle and proof cost',
    '',
    '| entry (esbuild, minified, browser ESM) | bytes | gzip |',
    '|---|---:|---:|',
  ];
  for (const [name, entry] of [
    ['nest-dpop-client (the WebCrypto core)', 'index.ts'],
    ['nest-dpop-client/arcp (core + ARCP client)', 'arcp/index.ts'],
  ] as const) {
    const size = await bundle(entry);
    log(`  ${name}: ${size.minified} bytes, ${size.gzip} gzip`);
    lines.push(`| ${name} | ${size.minified} | ${size.gzip} |`);
  }
  lines.push(
    '',
    '| alg | WebCrypto, non-extractable (µs/proof) | node:crypto key file (µs/proof) | WebCrypto ÷ node:crypto |',
    '|---|---:|---:|---:|',
  );
  for (const [alg, key] of Object.entries(NODE_KEYS)) {
    const algorithm = alg as DPoPClientAlgorithm;
    const proofs =
      (quick ? 300 : 3000) / (algorithm.startsWith('RS') || algorithm.startsWith('PS') ? 5 : 1);
    const web = await microsPerProof(await DPoPGenerator.generate(algorithm), proofs);
    const node = await microsPerProof(await generatorFromKey(key(), { algorithm }), proofs);
    log(
      `  ${alg}: WebCrypto ${web.toFixed(1)} µs, node:crypto ${node.toFixed(1)} µs (${(web / node).toFixed(2)}x)`,
    );
    lines.push(`| ${alg} | ${web.toFixed(1)} | ${node.toFixed(1)} | ${(web / node).toFixed(2)} |`);
  }
  return lines.join('\n');
}
