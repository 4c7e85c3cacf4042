/**
 * Jest under native ESM (run as `node --experimental-vm-modules`), because NestJS 12 ships ESM only.
 * ts-jest compiles each file with the project's tsconfig; `.js` suffixes on relative imports are
 * stripped so that Jest finds the `.ts` sources, and the package names (`nest-dpop`, its subpaths,
 * `nest-dpop-client`) point at the libraries' sources, as tsconfig.json's `paths` do.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/libs', '<rootDir>/src', '<rootDir>/test', '<rootDir>/examples'],
  // Package builds (libs/*/dist) are not tests and must not shadow the sources.
  modulePathIgnorePatterns: ['<rootDir>/libs/[^/]+/dist/', '<rootDir>/dist/'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  // Apps installed from the packed tarballs by scripts/consumers/run.sh, not by Jest.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^nest-dpop$': '<rootDir>/libs/dpop/src/index.ts',
    '^nest-dpop/testing$': '<rootDir>/libs/dpop/src/testing/index.ts',
    '^nest-dpop/cors$': '<rootDir>/libs/dpop/src/cors/index.ts',
    '^nest-dpop/terminus$': '<rootDir>/libs/dpop/src/terminus/index.ts',
    '^nest-dpop/prometheus$': '<rootDir>/libs/dpop/src/prometheus/index.ts',
    '^nest-dpop/opentelemetry$': '<rootDir>/libs/dpop/src/opentelemetry/index.ts',
    '^nest-dpop-client$': '<rootDir>/libs/dpop-client/src/index.ts',
    '^nest-dpop-client/arcp$': '<rootDir>/libs/dpop-client/src/arcp/index.ts',
    '^nest-dpop-client/node$': '<rootDir>/libs/dpop-client/src/node/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  // CommonJS packages that require() NestJS 12 (e.g. @nestjs-modules/ioredis) load only after
  // the ESM @nestjs/common and @nestjs/core are in the module registry.
  setupFiles: ['<rootDir>/test/jest.setup.ts'],
  testTimeout: 30000,
};
