/** Types of entry-points.mjs, for the tests that read the same list (test/ops/public-types.spec.ts). */
export declare const PACKAGE_DIRS: string[];
/** `[{ specifier: 'nest-dpop/testing', file: '/…/libs/dpop/src/testing/index.ts' }, …]` */
export declare function packageEntryPoints(): { specifier: string; file: string }[];
