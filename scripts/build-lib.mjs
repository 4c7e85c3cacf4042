#!/usr/bin/env node
/**
 * Builds the package in the current folder (libs/dpop or libs/dpop-client; their `build` and
 * `prepack` scripts run it there):
 *
 *   dist/cjs/   the implementation, CommonJS (tsc with tsconfig.lib.json), marked by its own
 *               package.json `{"type":"commonjs"}` so that Node and TypeScript read its .js and
 *               .d.ts as CommonJS inside this `type: module` package;
 *   dist/esm/   one thin ES module per `exports` entry, `export * from '../cjs/…'`.
 *
 * One implementation, two doors: `require('nest-dpop')` and `import 'nest-dpop'` give the same
 * classes and symbols, which Nest's DI uses as tokens (JtiStore, DPoPGuard). Two builds would
 * give two of each (the dual-package hazard). CommonJS is the implementation because Jest's
 * CommonJS runtime (the Nest CLI's default setup) cannot load ES modules on Node < 24.9.
 *
 * Then it checks what it built: every name the CommonJS entry exports is exported, as the same
 * value, by the ES module entry (Node finds them with its cjs-module-lexer, which knows tsc's
 * re-export forms), and the `bin` files keep their shebang.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.lib.json'], { stdio: 'inherit' });
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);

/** `to` as a relative specifier from the file `from` (`./x.js`, `../cjs/x.js`). */
function specifier(from, to) {
  const path = relative(dirname(from), to).replace(/\.d\.ts$/, '.js');
  return path.startsWith('.') ? path : `./${path}`;
}

const entries = Object.entries(pkg.exports).filter(([, target]) => typeof target === 'object');
for (const [subpath, { import: esm, default: cjs }] of entries) {
  const name = `${pkg.name}${subpath.slice(1)}`;
  const header = `// ${name} for import: the CommonJS build re-exported (one copy of every class).\n`;
  mkdirSync(dirname(esm.default), { recursive: true });
  writeFileSync(esm.default, `${header}export * from '${specifier(esm.default, cjs.default)}';\n`);
  writeFileSync(esm.types, `${header}export * from '${specifier(esm.types, cjs.types)}';\n`);
}

const requireHere = createRequire(resolve('package.json'));
const problems = [];
for (const [subpath, { import: esm, default: cjs }] of entries) {
  const name = `${pkg.name}${subpath.slice(1)}`;
  const required = requireHere(resolve(cjs.default));
  const imported = await import(pathToFileURL(resolve(esm.default)).href);
  const names = Object.keys(required);
  if (names.length === 0) problems.push(`${name}: the CommonJS build exports nothing`);
  for (const key of names) {
    if (!(key in imported)) problems.push(`${name}: import lacks ${key}`);
    else if (imported[key] !== required[key]) problems.push(`${name}: ${key} differs`);
  }
  for (const key of Object.keys(imported)) {
    // `default` and (Node >= 23) `module.exports` are module.exports itself, not a name of it.
    if (key !== 'default' && key !== 'module.exports' && !(key in required)) {
      problems.push(`${name}: import has ${key}, require() has not`);
    }
  }
  console.log(`${name}: ${names.length} exports, the same through require() and import`);
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
