/**
 * A real HTTP server for the client tests. One source with the client package's own specs: the
 * fixture in libs/dpop-client/src/fetch (spec-only, never built into the package), as
 * test/support/proofs.ts does for the proofs.
 */
export * from '../../../libs/dpop-client/src/fetch/http-server.fixture.js';
