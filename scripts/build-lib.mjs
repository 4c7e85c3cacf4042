#!/usr/bin/env node
/**
 * Builds the package in the current folder (libs/dpop or libs/dpop-client; their `build` and
 * `prepack` scripts run it there):
 *
 *   dist/esm/  the ES module build (tsconfig.lib.json), the one every runtime that can
 *              `require()` ES modules loads, for `import` and `require()` alike: the `exports`
 *              conditions `module-sync` (Node >= 20.19, and Jest, offer it to require() exactly
 *              when they can load ESM that way) and `import`;
 *   dist/cjs/  the CommonJS build (tsconfig.cjs.json), the `default` condition, for runtimes
 *              that cannot: Jest's CommonJS runtime (the setup `nest new` generates for
 *              Nest 11), which has require(esm) only on Node >= 24.9 with vm modules. It has its own package.json
 *              `{"type":"commonjs"}`, so that Node and TypeScript read its .js and .d.ts as
 *              CommonJS inside this `type: module` package.
 *
 * So a process gets one copy of every class and symbol (Nest's DI uses them as tokens:
 * JtiStore, DPoPGuard): the ESM build wherever require(esm) works, else CommonJS for every
 * require(). Only a process that require()s the package where require(esm) is missing AND
 * import()s it would see two copies.
 *
 * Then it checks what it built: both builds export the same names from every entry, every
 * subpath has its `typesVersions` entry, and the `bin` files keep their shebang.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
for (const config of ['tsconfig.lib.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
}
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);

const requireHere = createRequire(resolve('package.json'));
const problems = [];
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target !== 'object') continue;
  const name = `${pkg.name}${subpath.slice(1)}`;
  const cjs = Object.keys(requireHere(resolve(target.default.default))).sort();
  const esm = Object.keys(await import(pathToFileURL(resolve(target.import.default)).href)).sort();
  if (esm.length === 0) problems.push(`${name}: exports nothing`);
  if (cjs.join() !== esm.join()) {
    problems.push(`${name}: the builds differ: ESM ${esm.join()} / CommonJS ${cjs.join()}`);
  }
  if (target['module-sync'] !== target.import.default) {
    problems.push(`${name}: module-sync and import must be the same file`);
  }
  // TypeScript's `moduleResolution: node` (no `exports`) finds a subpath's types only here.
  const typesVersion = pkg.typesVersions?.['*']?.[subpath.slice(2)]?.[0];
  if (subpath !== '.' && typesVersion !== target.default.types) {
    problems.push(`${name}: typesVersions must point at ${target.default.types}`);
  }
  console.log(`${name}: ${esm.length} exports, the same in both builds`);
}
for (const bin of Object.values(pkg.bin ?? {})) {
  if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')) {
    problems.push(`bin ${bin} has no shebang`);
  }
  chmodSync(bin, 0o755);
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
