import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import * as client from './index.js';
import * as arcp from './arcp/index.js';
import * as node from './node/index.js';

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

/** Every file `entry` (relative to src/) imports, directly or not, and every specifier seen. */
function reachable(entry: string): { files: Set<string>; specifiers: Set<string> } {
  const files = new Set<string>();
  const specifiers = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of importsOf(readFileSync(new URL(file, here), 'utf8'))) {
      specifiers.add(specifier);
      if (specifier.startsWith('.')) {
        const target = new URL(specifier.replace(/\.js$/, '.ts'), new URL(file, here));
        visit(target.pathname.slice(here.pathname.length));
      }
    }
  };
  visit(entry);
  return { files, specifiers };
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
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'arcp/index.ts', 'node/index.ts']));
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
      expect.arrayContaining(['node:crypto', 'node:fs', '../proof/dpop-generator.js']),
    );
  });

  it('runs its core and ARCP entries on WebCrypto alone: nothing from node: is reachable', () => {
    for (const entry of ['index.ts', 'arcp/index.ts']) {
      const { files, specifiers } = reachable(entry);
      expect(files).toContain('proof/dpop-generator.ts');
      expect([entry, [...specifiers].filter((s) => !s.startsWith('.'))]).toEqual([entry, []]);
      for (const file of files) expect(file).not.toMatch(/^(?:keys|cli|node)\//);
    }
    // The scan does follow imports into node: where there are some.
    expect([...reachable('node/index.ts').specifiers]).toEqual(
      expect.arrayContaining(['node:crypto', 'node:fs']),
    );
  });

  it('opens its main door to the generator, its signers, fetch wrapper, nonce store and errors only', () => {
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
      'parseWwwAuthenticate',
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

  it('keeps key files and node:crypto keys behind nest-dpop-client/node', () => {
    expect(Object.keys(node).sort()).toEqual([
      'generateKeyFile',
      'generatorFromKey',
      'keyObjectSigner',
      'loadGenerator',
      'loadKeyFile',
      'loadPrivateKey',
      'savePrivateKey',
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
