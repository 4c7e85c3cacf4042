import { describe, expect, it } from '@jest/globals';
import { allSnippets, checkSnippets, extractSnippets } from './doc-snippets.util.js';

/**
 * Every ```ts block of the READMEs and docs/*.md type-checks as written (strict, nodenext, the
 * packages as the workspace sources), unless marked a fragment. One Program compiles the real
 * snippets and a few broken ones made here, which must be reported with their file and line: the
 * check can fail.
 */
const BROKEN = [
  '# A page',
  '',
  '```ts',
  "import { DPoPGenerator } from 'nest-dpop-client';",
  "const n: number = DPoPGenerator.generate('ES256');",
  '```',
  '',
  "<!-- doc-snippets: given: declare const app: import('@nestjs/common').INestApplication; -->",
  '```ts',
  'app.useGlobalGuards(42);',
  '```',
  '',
  '<!-- doc-snippets: fragment (not TypeScript at all) -->',
  '```ts',
  'this is ) not ( code',
  '```',
  '',
  '```ts',
  "import { DPoPModule } from 'nest-dpop';",
  "DPoPModule.forRoot({ acessToken: { audience: 'x' } });",
  '```',
].join('\n');

describe('the TypeScript snippets of the docs', () => {
  const real = allSnippets();
  const broken = extractSnippets('broken.md', BROKEN);
  const given = extractSnippets(
    'given.md',
    ['<!-- doc-snippets: given: declare const x: NoSuchType; -->', '```ts', 'x;', '```'].join('\n'),
  );
  // One Program for all: compiling is most of the cost (about 15 s on a busy 2-core machine).
  const messages = checkSnippets([...real, ...broken, ...given]);
  const fromBroken = messages.filter((m) => m.startsWith('broken.md:'));

  it('are found in every documented file, and few are fragments, each with its reason', () => {
    const files = new Set(real.map((s) => s.file));
    for (const file of ['README.md', 'libs/dpop/README.md', 'libs/dpop-client/README.md'])
      expect(files).toContain(file);
    expect(real.length).toBeGreaterThan(40);
    const fragments = real.filter((s) => s.fragment !== undefined);
    // Listed in the test output; a new one needs a reason and must keep this count small.
    console.log(
      `doc snippets: ${real.length}, fragments skipped: ${fragments.length}\n` +
        fragments.map((s) => `  ${s.file}:${s.line} (${s.fragment})`).join('\n'),
    );
    expect(fragments.length).toBeLessThanOrEqual(4);
    for (const fragment of fragments) expect(fragment.fragment).not.toBe('no reason given');
  });

  it('type-check, each as its own module', () => {
    expect(messages.filter((m) => !/^(broken|given)\.md:/.test(m))).toEqual([]);
  });

  it('report a wrong snippet with its file and line (the check can fail)', () => {
    // Line 5: a Promise is not a number; line 10: a number is not a guard.
    expect(fromBroken).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^broken\.md:5: TS2322 /),
        expect.stringMatching(/^broken\.md:10: TS2345 /),
        // An unknown option of DPoPModule.forRoot (a misspelt accessToken) is caught too.
        expect.stringMatching(/^broken\.md:20: TS2561 .*'acessToken'/),
      ]),
    );
    // The fragment is not compiled (its nonsense reports nothing).
    expect(fromBroken.some((m) => m.startsWith('broken.md:15:'))).toBe(false);
  });

  it('report an error in the given declarations on the marker line', () => {
    expect(given).toEqual([
      expect.objectContaining({ line: 2, given: 'declare const x: NoSuchType;' }),
    ]);
    expect(messages.filter((m) => m.startsWith('given.md:'))).toEqual([
      "given.md:1: TS2304 Cannot find name 'NoSuchType'.",
    ]);
  });
});
