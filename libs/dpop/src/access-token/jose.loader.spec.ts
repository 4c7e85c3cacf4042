import { describe, expect, it } from '@jest/globals';
import { errors } from 'jose';
import { JOSE_ERROR_CODES, loadJose } from './jose.loader.js';

describe('jose.loader', () => {
  it.each(Object.entries(JOSE_ERROR_CODES))("names jose's own code for %s", (name, code) => {
    const errorClass = (errors as Record<string, { code?: string }>)[name];
    expect(errorClass?.code).toBe(code);
  });

  it('loads jose once, on demand', async () => {
    const first = loadJose();
    expect(loadJose()).toBe(first);
    expect(typeof (await first).jwtVerify).toBe('function');
  });
});
