/**
 * Real keys and DPoP proofs for the repository's tests. One source with the library's own specs:
 * the fixture in libs/dpop/src/testing (spec-only, never built into the package). This file and
 * test/client/support/http.ts are the only places test/ reaches into libs/: so that a library
 * spec never imports from test/, and the two copies this replaced cannot drift apart.
 */
export * from '../../libs/dpop/src/testing/proofs.fixture.js';
