#!/usr/bin/env node
/**
 * Checks what a packed package ships (scripts/consumers/run.sh runs it on each tarball):
 *
 * - nothing it must not: keys (`.jwk`, `.pem`, `.key`), specs, fixtures, tests, bench or demo,
 *   and no TypeScript outside `src/` but the `.d.ts` files;
 * - source maps that work where the package is installed: every `sources` entry of every `.map`
 *   (the `.js.map` of both builds and the `.d.ts.map`) names a file inside the package (so a
 *   stack trace under `--enable-source-maps`, a debugger or an editor's "go to definition" lands
 *   in a file that exists), and every `.ts` under `src/` is the source of some map (the `files`
 *   allow-list ships what the build compiled, nothing more).
 *
 * Usage: node scripts/consumers/check-tarball.mjs <package.tgz>
 * Prints one summary line; exits 1 with the problems listed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

const tarball = process.argv[2];
if (tarball === undefined) {
  console.error('usage: check-tarball.mjs <package.tgz>');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'nest-dpop-tarball-'));
try {
  execFileSync('tar', ['xzf', resolve(tarball), '-C', dir]);
  const root = join(dir, 'package');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
  const problems = [];

  const forbidden = files.filter(
    (file) =>
      /\.(jwk|pem|key)$|\.spec\.|\.fixture\.|(^|\/)(test|bench|demo)\//.test(file) ||
      (file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('src/')),
  );
  for (const file of forbidden) problems.push(`ships what it must not: ${file}`);

  const mapped = new Set();
  const maps = files.filter((file) => file.endsWith('.map'));
  if (maps.length === 0) problems.push('ships no source map');
  for (const map of maps) {
    let parsed;
    try {
      parsed = JSON.parse(readFileSync(join(root, map), 'utf8'));
    } catch {
      problems.push(`${map}: not JSON`);
      continue;
    }
    const sources = Array.isArray(parsed.sources) ? parsed.sources : [];
    if (sources.length === 0) problems.push(`${map}: no sources`);
    for (const source of sources) {
      const target = resolve(dirname(join(root, map)), parsed.sourceRoot ?? '', String(source));
      const inside = relative(root, target).split(sep).join('/');
      if (inside.startsWith('..') || !existsSync(target)) {
        problems.push(`${map}: source ${source} is not in the package`);
      } else {
        mapped.add(inside);
      }
    }
  }
  for (const file of files) {
    if (file.startsWith('src/') && !mapped.has(file)) {
      problems.push(`${file} is shipped but no map names it`);
    }
  }

  if (problems.length > 0) {
    console.error(`${tarball}:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(
    `${files.length} files, no keys, specs, fixtures, tests, bench or demo; ` +
      `${maps.length} source maps, every source inside the package (${mapped.size} files in src/)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
