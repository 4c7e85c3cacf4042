import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

// Each package carries its own copy of the algorithm table (a package holds only itself); the
// copies must never drift, or the client would sign what the server cannot verify.
describe('the algorithm tables of the two packages', () => {
  const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

  it('are the same file', () => {
    const server = read('libs/dpop/src/verifier/dpop-algorithms.table.ts');
    const client = read('libs/dpop-client/src/proof/dpop-algorithms.table.ts');
    expect(server.length).toBeGreaterThan(1000);
    expect(client).toBe(server);
  });
});
