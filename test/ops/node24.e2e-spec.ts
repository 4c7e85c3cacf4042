import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';

/**
 * scripts/node24.sh runs a cached Node only once it is shown to be the pinned one (its sha256,
 * recorded in a marker after a verified install): a bin/node in the cache that merely prints the
 * pinned version is never run. The script runs for real against a temporary NODE24_HOME, with
 * a Node older than 24.9 first on PATH (so that it takes its install path), and an npm whose
 * registry is unreachable and whose cache is empty: a reinstall fails at once, and no test
 * downloads anything.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = `${ROOT}scripts/node24.sh`;

// The pin for this machine, read from the script itself so that the test follows it.
const labels: Record<string, string> = {
  'linux-x64': 'Linux-x86_64',
  'linux-arm64': 'Linux-aarch64',
  'darwin-x64': 'Darwin-x86_64',
};
const label = labels[`${process.platform}-${process.arch}`];
const match =
  label === undefined
    ? null
    : new RegExp(
        `${label}[^)]*\\)\\s+pkg=(\\S+) version=(\\S+)\\s+integrity=(\\S+)\\s+node_sha256=(\\S+)`,
      ).exec(readFileSync(SCRIPT, 'utf8'));
const [, pkg = '', version = '', integrity = '', nodeSha256 = ''] = match ?? [];
// The Node running Jest is the pinned one when npm test came through node24.sh on a machine
// with an older Node: then it stands in for a genuine cached install (no download).
const genuine =
  match !== null &&
  createHash('sha256').update(readFileSync(process.execPath)).digest('hex') === nodeSha256;

let work: string;
let shimBin: string;
let ranLog: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'node24-'));
  ranLog = join(work, 'fake-node-ran');
  // An older Node first on PATH: it answers node24.sh's version probe with 20, and runs
  // everything else (npm) on the real Node.
  shimBin = join(work, 'old-node');
  mkdirSync(shimBin);
  writeFileSync(
    join(shimBin, 'node'),
    [
      '#!/bin/sh',
      'case "$*" in',
      '  "-p process.versions.node") echo 20.0.0 ;;',
      '  --version) echo v20.0.0 ;;',
      `  *) exec '${process.execPath}' "$@" ;;`,
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(shimBin, 'node'), 0o755);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node24.sh node -p process.versions.node` with cache folder `home`. */
function run(home: string): Run {
  const result = spawnSync(SCRIPT, ['node', '-p', 'process.versions.node'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: `${shimBin}:${process.env.PATH ?? ''}`,
      HOME: work,
      NODE24_HOME: home,
      npm_config_registry: 'http://127.0.0.1:9',
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_fetch_retries: '0',
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let homes = 0;
/** A fresh cache folder; `legacy` puts the install where the older, unversioned script did. */
function cacheWith(node: 'fake' | 'genuine', legacy = false): { home: string; modules: string } {
  const home = join(work, `home-${++homes}`);
  const modules = legacy
    ? join(home, 'node_modules')
    : join(home, `${pkg}-${version}`, 'node_modules');
  mkdirSync(join(modules, pkg, 'bin'), { recursive: true });
  const bin = join(modules, pkg, 'bin', 'node');
  if (node === 'fake') {
    // Prints the pinned version, as the review's fake did, and leaves a trace when run.
    writeFileSync(bin, `#!/bin/sh\necho "$*" >>'${ranLog}'\necho ${version}\n`);
    chmodSync(bin, 0o755);
  } else {
    copyFileSync(process.execPath, bin);
    chmodSync(bin, 0o755);
  }
  return { home, modules };
}

function writeLock(modules: string, lockIntegrity: string): void {
  const lock = {
    lockfileVersion: 3,
    requires: true,
    packages: { [`node_modules/${pkg}`]: { version, integrity: lockIntegrity } },
  };
  writeFileSync(join(modules, '.package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
}

const OTHER_INTEGRITY = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;
const refusedAndReinstalled = (result: Run): void => {
  expect(result.stderr).toContain(`installing ${pkg}@${version}`);
  expect(result.stderr).toContain(`could not install ${pkg}@${version}`);
  expect(result.status).not.toBe(0);
  expect(existsSync(ranLog)).toBe(false);
};

(match === null ? describe.skip : describe)(
  'scripts/node24.sh: a cached Node must be verified',
  () => {
    beforeEach(() => rmSync(ranLog, { force: true }));

    it('does not run a bin/node without a marker: it reinstalls instead', () => {
      const { home } = cacheWith('fake');
      refusedAndReinstalled(run(home));
    });

    it('does not run the bin/node of an older script, even when its lock records the pin', () => {
      const { home, modules } = cacheWith('fake', true);
      writeLock(modules, integrity);
      refusedAndReinstalled(run(home));
    });

    it('does not take a marker for a binary swapped in after it was written', () => {
      const { home, modules } = cacheWith('fake');
      writeLock(modules, integrity);
      writeFileSync(
        join(modules, '.node24-verified'),
        `${pkg}@${version} ${integrity} ${nodeSha256}\n1 2 3 4\n`,
      );
      refusedAndReinstalled(run(home));
    });

    (genuine ? describe : describe.skip)('with the pinned Node in the cache', () => {
      it("uses an older script's folder whose lock records the pin, without reinstalling, and marks it", () => {
        const { home, modules } = cacheWith('genuine', true);
        writeLock(modules, integrity);
        const first = run(home);
        expect(first.stderr).toBe('');
        expect(first.status).toBe(0);
        expect(first.stdout.trim()).toBe(version);
        const marker = join(modules, '.node24-verified');
        expect(readFileSync(marker, 'utf8').split('\n')[0]).toBe(
          `${pkg}@${version} ${integrity} ${nodeSha256}`,
        );
        // The next run trusts the marker (no hashing, which would write the marker anew).
        const { ino } = statSync(marker);
        const second = run(home);
        expect(second.status).toBe(0);
        expect(second.stdout.trim()).toBe(version);
        expect(statSync(marker).ino).toBe(ino);
      });

      it("reinstalls over an older script's folder whose lock records another integrity", () => {
        const { home, modules } = cacheWith('genuine', true);
        writeLock(modules, OTHER_INTEGRITY);
        refusedAndReinstalled(run(home));
        expect(existsSync(join(modules, '.node24-verified'))).toBe(false);
      });

      it('reinstalls when the marker records another integrity than the pin', () => {
        const { home, modules } = cacheWith('genuine');
        writeLock(modules, integrity);
        expect(run(home).status).toBe(0);
        const marker = join(modules, '.node24-verified');
        writeFileSync(marker, readFileSync(marker, 'utf8').replace(integrity, OTHER_INTEGRITY));
        refusedAndReinstalled(run(home));
      });
    });
  },
);
