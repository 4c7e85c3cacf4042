import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one run of the CLI gave. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `dpop` CLI compiled into a temporary directory, and how to run it there. */
export interface BuiltCli {
  /** The temporary directory: the CLI's working directory (key files land here). */
  readonly work: string;
  /** Runs the CLI without blocking the event loop (servers the test talks to live in-process). */
  run(args: string[], env?: Record<string, string>): Promise<CliRun>;
  /** Removes the directory. */
  remove(): void;
}

/**
 * Compiles `libs/dpop-client` alone (test/client/tsconfig.cli.json, about two seconds) into a new
 * temporary directory, so that a test runs the CLI as the code is now, whatever state `dist/` or
 * the rest of the project is in. Each run gets only `PATH` and `env` and is killed after
 * `timeoutMs`.
 */
export function buildCli(prefix: string, timeoutMs = 20_000): BuiltCli {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const out = join(work, 'build');
  execFileSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'test/client/tsconfig.cli.json', '--outDir', out],
    { stdio: 'pipe' },
  );
  // The compiled files are ES modules; outside the project they need their own package.json.
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  const cli = join(out, 'dpop-client', 'src', 'cli', 'dpop.cli.js');
  return {
    work,
    run: (args, env = {}) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [cli, ...args],
          { cwd: work, env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs },
          (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}
