import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';

// The gates of `npm run lint`, `npm run typecheck` and `npm run docs:api` must gate: a probe with the fault each one
// claims to catch fails it. (Type-aware rules run only with `--type-aware` and oxlint-tsgolint;
// without them a floating promise once passed as "Found 0 warnings".)
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

function run(command: string, args: string[], cwd: string): { status: number; output: string } {
  try {
    const output = execFileSync(command, args, { cwd, encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, output };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, output: `${e.stdout}${e.stderr}` };
  }
}

describe('the lint and type gates', () => {
  // Inside the repository, so that the probe resolves the same types and packages (ignored by git,
  // prettier and the linters; removed after).
  const dir = mkdtempSync(join(ROOT, '.gates-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(ROOT, '.oxlintrc.json'), join(dir, '.oxlintrc.json'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: '../tsconfig.json', include: ['probe.ts'] }),
  );

  it('refuses a floating promise (type-aware oxlint, as npm run lint runs it)', () => {
    writeFileSync(
      join(dir, 'probe.ts'),
      'async function save(): Promise<void> {}\nexport function handler(): void {\n  save();\n}\n',
    );
    const result = run(bin('oxlint'), ['--type-aware', '--deny-warnings', 'probe.ts'], dir);
    expect(result.output).toContain('no-floating-promises');
    expect(result.status).not.toBe(0);
  });

  it('passes the same probe once the promise is handled (the gate is not always red)', () => {
    writeFileSync(
      join(dir, 'probe.ts'),
      'async function save(): Promise<void> {}\nexport async function handler(): Promise<void> {\n  await save();\n}\n',
    );
    const result = run(bin('oxlint'), ['--type-aware', '--deny-warnings', 'probe.ts'], dir);
    expect(result.status).toBe(0);
  });

  it('types an index read as possibly undefined (noUncheckedIndexedAccess)', () => {
    writeFileSync(
      join(dir, 'probe.ts'),
      'export function first(list: string[]): string {\n  return list[0];\n}\n',
    );
    const result = run(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'],
      dir,
    );
    expect(result.output).toContain('TS2322');
    expect(result.status).not.toBe(0);
  });

  describe('npm run docs:api (TypeDoc with typedoc.config.mjs)', () => {
    // A package of its own, as libs/dpop is. The message expected is the one of
    // scripts/typedoc/not-exported.plugin.mjs: TypeDoc's own `notExported` check skips types of
    // any package but the one whose package.json it read, the workspace's for `npm run docs:api`.
    const pkg = join(dir, 'pkg');
    mkdirSync(pkg);
    writeFileSync(join(pkg, 'package.json'), '{ "name": "gates-probe", "type": "module" }\n');
    writeFileSync(
      join(pkg, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', files: ['index.ts', 'hidden.ts'] }),
    );
    writeFileSync(
      join(pkg, 'hidden.ts'),
      '/** Hidden. */\nexport interface Hidden {\n  scheme: string;\n}\n',
    );
    // The repository's TypeDoc settings and plugins, on the probe's entry point and tsconfig.
    writeFileSync(
      join(pkg, 'typedoc.json'),
      JSON.stringify({
        extends: ['../../typedoc.config.mjs'],
        entryPoints: ['index.ts'],
        tsconfig: 'tsconfig.json',
        emit: 'none',
      }),
    );
    const typedoc = (): { status: number; output: string } =>
      run(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc')], pkg);

    it('fails when a public signature names a type no entry point exports', () => {
      writeFileSync(
        join(pkg, 'index.ts'),
        "import type { Hidden } from './hidden.js';\n/** A result. */\nexport interface Result {\n  /** The token. */\n  readonly token: Hidden;\n}\n",
      );
      const result = typedoc();
      expect(result.output).toContain('Hidden, declared in gates-probe/hidden.ts');
      expect(result.status).not.toBe(0);
    });

    it('passes once the type is exported too', () => {
      writeFileSync(
        join(pkg, 'index.ts'),
        "import type { Hidden } from './hidden.js';\nexport type { Hidden };\n/** A result. */\nexport interface Result {\n  /** The token. */\n  readonly token: Hidden;\n}\n",
      );
      const result = typedoc();
      expect(result.output).not.toContain('warning');
      expect(result.status).toBe(0);
    });
  });
});
