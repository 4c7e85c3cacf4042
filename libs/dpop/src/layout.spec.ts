import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

/**
 * The package's layout rules, checked rather than remembered: a `*.util.ts` holds functions,
 * types and constants, never a class (a class gets a file named for what it is); and no source
 * file grows past 350 lines unless it is one natural unit, named here with the reason.
 */
const MAX_LINES = 350;
const NATURAL_UNITS: Record<string, string> = {
  'verifier/dpop-proof.verifier.ts':
    'RFC 9449 §4.3 checks in their order (cheap, crypto, claims, store) in one class',
  'request/dpop-request.policy.ts':
    'the request rules (§7 schemes and binding, token, introspection guard, proof) in their order, in one class',
};

const root = fileURLToPath(new URL('.', import.meta.url));

/** Every non-spec TypeScript source under `src/`, as paths relative to it. */
function sources(): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .map((file) => file.split('\\').join('/'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
    .sort();
}

describe('nest-dpop layout', () => {
  const files = sources();

  it('finds the sources it judges', () => {
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'guard/dpop.guard.ts']));
  });

  it('declares no class in a *.util.ts file', () => {
    const utils = files.filter((file) => file.endsWith('.util.ts'));
    expect(utils.length).toBeGreaterThan(0);
    const withClass = utils.filter((file) =>
      /^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s/m.test(
        readFileSync(root + file, 'utf8'),
      ),
    );
    expect(withClass).toEqual([]);
  });

  it(`keeps every file within ${MAX_LINES} lines but the natural units`, () => {
    const long = files
      .map((file) => [file, readFileSync(root + file, 'utf8').split('\n').length - 1] as const)
      .filter(([file, lines]) => lines > MAX_LINES && !(file in NATURAL_UNITS));
    expect(long).toEqual([]);
  });
});
