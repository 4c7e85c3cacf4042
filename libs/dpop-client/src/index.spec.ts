import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import * as client from './index.js';
import * as arcp from './arcp/index.js';

const here = new URL('.', import.meta.url);

/** Every module specifier a file imports (static and dynamic). */
function importsOf(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm),
    ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ];
  return specifiers.map((m) => m[1]!);
}

/** The package's sources (no specs, no fixtures), as paths relative to src/. */
function sources(): string[] {
  return (readdirSync(here, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !/\.(spec|e2e-spec|fixture)\.ts$/.test(f))
    .sort();
}

describe('nest-dpop-client', () => {
  it('imports nothing but node:crypto, node:fs, node:util and its own files', () => {
    const files = sources();
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'arcp/index.ts']));
    const seen = new Set<string>();
    for (const file of files) {
      const source = readFileSync(new URL(file, here), 'utf8');
      for (const specifier of importsOf(source)) {
        seen.add(specifier);
        expect([file, specifier]).toEqual([
          file,
          expect.stringMatching(/^(?:\.{1,2}\/[\w./-]+\.js|node:crypto|node:fs|node:util)$/),
        ]);
      }
    }
    // The scan did see the imports it vouches for.
    expect([...seen]).toEqual(
      expect.arrayContaining(['node:crypto', 'node:fs', './proof/dpop-generator.js']),
    );
  });

  it('opens its main door to the generator, keys, fetch wrapper, nonce store and errors only', () => {
    expect(Object.keys(client).sort()).toEqual([
      'DPOP_CLIENT_ALGORITHMS',
      'DPOP_NONCE_HEADER',
      'DPoPClientError',
      'DPoPGenerator',
      'DPoPNonceStore',
      'accessTokenHash',
      'createDPoPFetch',
      'dpopChallengeError',
      'htuOf',
      'isClientError',
      'isNonceChallenge',
      'loadKeyFile',
      'loadPrivateKey',
      'parseWwwAuthenticate',
      'savePrivateKey',
    ]);
    expect(Object.keys(client).length).toBeLessThanOrEqual(20);
    expect(client.DPOP_CLIENT_ALGORITHMS).toEqual([
      'EdDSA',
      'Ed25519',
      'Ed448',
      'ES256',
      'ES384',
      'ES512',
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
    ]);
  });

  it('keeps the ARCP client behind nest-dpop-client/arcp', () => {
    expect(Object.keys(arcp).sort()).toEqual([
      'ARCPClient',
      'ARCPClientError',
      'issuedToken',
      'tokenTypeOf',
    ]);
    // One error hierarchy: an ARCP refusal is a DPoPClientError too.
    expect(new arcp.ARCPClientError('ERR_ARCP_HTTP', 'x')).toBeInstanceOf(client.DPoPClientError);
    // Nothing of ARCP in the main door.
    for (const name of Object.keys(client)) expect(name).not.toMatch(/arcp/i);
  });

  it('keeps its algorithm table free of imports', () => {
    const table = readFileSync(new URL('./proof/dpop-algorithms.table.ts', here), 'utf8');
    expect(importsOf(table)).toEqual([]);
  });
});
