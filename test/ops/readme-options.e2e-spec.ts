import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { DPOP_DEFAULTS } from 'nest-dpop';
import {
  envOptionNames,
  formatDefault,
  moduleOptionNames,
  optionTableProblems,
} from './readme-options.util.js';

// Issue 15 (d): the READMEs' options tables are the code's options, with the code's defaults.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}${file}`, 'utf8');

describe('the options tables of libs/dpop/README.md and docs/library.md', () => {
  it.each(['libs/dpop/README.md', 'docs/library.md'])(
    '%s lists every option of DPoPModuleOptions, no other, with the defaults of DPOP_DEFAULTS',
    (file) => {
      expect(optionTableProblems(read(file))).toEqual([]);
    },
  );
});

describe('the options table check', () => {
  const table = (rows: string[]) =>
    ['| option | env | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
  const good = read('libs/dpop/README.md');

  it('reads the options from the interface source (not a hand list)', () => {
    const names = moduleOptionNames();
    expect(names).toEqual(
      expect.arrayContaining(['enabled', 'allowedOrigins', 'clock', 'fromEnv']),
    );
    // That the validator accepts this same set is pinned in the library's own spec
    // (options/dpop-options.validator.spec.ts), over an object typed as DPoPModuleOptions.
    expect(envOptionNames()).toEqual(
      expect.arrayContaining([
        'enabled',
        'required',
        'proofTtl',
        'clockSkew',
        'algorithms',
        'nonce',
      ]),
    );
  });

  it('names an option that has no row', () => {
    const withoutClock = good
      .split('\n')
      .filter((line) => !line.startsWith('| `clock` |'))
      .join('\n');
    expect(optionTableProblems(withoutClock)).toEqual([
      'clock: an option of DPoPModuleOptions without a row',
    ]);
  });

  it('names a row that is not an option, and a row with two options', () => {
    const problems = optionTableProblems(
      table(['| `requierd` | | `false` | typo', '| `proofTtl` / `clockSkew` | | | two']),
    );
    expect(problems).toContain('line 3 (requierd): not an option of DPoPModuleOptions');
    expect(problems).toContain(
      'line 4: the option cell must name one option, got "`proofTtl` / `clockSkew`"',
    );
  });

  it('names a default that is not the constant of DPOP_DEFAULTS', () => {
    const problems = optionTableProblems(
      table(['| `algorithms` | `DPOP_ALGORITHMS` | `EdDSA, ES256, RS256` | accepted algs']),
    );
    expect(problems).toContain(
      `line 3 (algorithms): default "\`EdDSA, ES256, RS256\`", DPOP_DEFAULTS says ${formatDefault(DPOP_DEFAULTS.algorithms)}`,
    );
  });

  it('names a missing, wrong or unread environment variable', () => {
    const problems = optionTableProblems(
      table([
        '| `required` | | `false` | no variable',
        '| `proofTtl` | `DPOP_CLOCK_SKEW` | `120` | the wrong one',
        '| `store` | `DPOP_STORE` | | not read',
      ]),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'line 3 (required): dpopOptionsFromEnv reads it, but no variable is named',
        'line 4 (proofTtl): DPOP_CLOCK_SKEW does not set proofTtl',
        'line 5 (store): names DPOP_STORE, but dpopOptionsFromEnv does not set it',
        'line 5 (store): DPOP_STORE is not read anywhere',
      ]),
    );
  });
});
