import { describe, expect, it } from '@jest/globals';
import { equalStrings } from './jws.util.js';

describe('equalStrings', () => {
  const digest = 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo';

  it('is true for the same characters, whichever string objects carry them', () => {
    expect(equalStrings(digest, JSON.parse(JSON.stringify(digest)) as string)).toBe(true);
    expect(equalStrings('', '')).toBe(true);
  });

  it.each([
    ['its last character changed', `${digest.slice(0, -1)}A`],
    ['its first character changed', `x${digest.slice(1)}`],
    ['the case of one letter changed', digest.replace('f', 'F')],
    ['a prefix of it', digest.slice(0, -1)],
    ['it with one character more', `${digest}A`],
    ['the empty string', ''],
  ])('is false for %s', (_name, other) => {
    expect(equalStrings(digest, other)).toBe(false);
    expect(equalStrings(other, digest)).toBe(false);
  });

  it('tells a lone surrogate from U+FFFD (their UTF-8 encodings are alike, the strings are not)', () => {
    expect(equalStrings('a\uD800', 'a\uFFFD')).toBe(false);
    expect(equalStrings('\uDC00b', '\uD800b')).toBe(false);
    expect(equalStrings('a\uD800', 'a\uD800')).toBe(true);
  });
});
