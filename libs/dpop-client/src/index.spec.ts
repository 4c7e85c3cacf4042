import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import * as client from './index.js';

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

describe('nest-dpop-client', () => {
  it('imports nothing but node:crypto, node:fs, node:util, its own files and the shared table', () => {
    const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
    expect(sources).toContain('index.ts');
    const seen = new Set<string>();
    for (const file of sources) {
      const source = readFileSync(new URL(file, here), 'utf8');
      for (const specifier of importsOf(source)) {
        seen.add(specifier);
        expect([file, specifier]).toEqual([
          file,
          expect.stringMatching(/^(?:\.\/[\w.-]+\.js|node:crypto|node:fs|node:util)$/),
        ]);
      }
    }
    // The scan did see the imports it vouches for.
    expect([...seen]).toEqual(
      expect.arrayContaining(['node:crypto', 'node:fs', './dpop-generator.js']),
    );
  });

  it('exports its public API from the barrel', () => {
    for (const name of [
      'DPoPGenerator',
      'ARCPClient',
      'createDPoPFetch',
      'DPoPNonceStore',
      'savePrivateKey',
      'loadPrivateKey',
      'DPoPClientError',
      'ARCPClientError',
      'parseWwwAuthenticate',
      'accessTokenHash',
    ]) {
      expect(client).toHaveProperty(name);
    }
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

  it('keeps its algorithm table free of imports', () => {
    const table = readFileSync(new URL('./dpop-algorithms.table.ts', here), 'utf8');
    expect(importsOf(table)).toEqual([]);
  });
});
