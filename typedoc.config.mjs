/**
 * The API reference of both packages, from their TSDoc: `npm run docs:api` writes it to
 * docs/api/ (generated, git-ignored). Any warning fails the run, a `{@link}` that resolves to
 * nothing or a public signature that names an unexported type included (that one by
 * scripts/typedoc/not-exported.plugin.mjs: TypeDoc's own check misses it here): CI runs it.
 */
import { packageEntryPoints } from './scripts/typedoc/entry-points.mjs';

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'nest-dpop and nest-dpop-client',
  entryPoints: packageEntryPoints().map((e) => e.file),
  entryPointStrategy: 'resolve',
  tsconfig: 'tsconfig.typedoc.json',
  plugin: [
    './scripts/typedoc/module-names.plugin.mjs',
    './scripts/typedoc/not-exported.plugin.mjs',
  ],
  out: 'docs/api',
  readme: 'none',
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  // Self-contained: no links to a source host or to TypeDoc's site.
  disableSources: true,
  hideGenerator: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
  treatWarningsAsErrors: true,
  // `npm run typecheck` checks the types; here they are only read.
  skipErrorChecking: true,
};
