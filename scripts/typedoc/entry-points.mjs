/**
 * The entry points of the published packages, read from their `exports` maps so that a new
 * subpath (say `nest-dpop-client/arcp`) reaches the API reference without a hand-kept list:
 * `./dist/esm/<path>.js` is built from `src/<path>.ts` (scripts/build-lib.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const PACKAGE_DIRS = ['libs/dpop', 'libs/dpop-client'];

/** `[{ specifier: 'nest-dpop/testing', file: '/…/libs/dpop/src/testing/index.ts' }, …]` */
export function packageEntryPoints() {
  return PACKAGE_DIRS.flatMap((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    return Object.entries(pkg.exports ?? {}).flatMap(([subpath, target]) => {
      const built = typeof target === 'string' ? target : target.import?.default;
      const match = /^\.\/dist\/esm\/(.+)\.js$/.exec(built ?? '');
      if (match === null) return []; // ./package.json and the like
      const file = join(ROOT, dir, 'src', `${match[1]}.ts`);
      if (!existsSync(file)) throw new Error(`${dir}: ${subpath} is built from ${file}, not found`);
      return [{ specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, file }];
    });
  });
}
