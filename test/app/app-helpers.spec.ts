import { describe, expect, it } from '@jest/globals';
import { parseAuthorization } from '../../src/auth/authorization-header.js';
import { isHttpHost, publicBaseUrl } from '../../src/common/public-url.js';
import { lowVarietySecret, parseBoolean, readBoolean } from '../../src/config/env.util.js';

/** The small grammars the sample app owns (the library keeps its own, private ones). */
describe('the app’s own helpers', () => {
  describe('isHttpHost / publicBaseUrl', () => {
    it.each(['example.com', 'api.example.com:8443', '127.0.0.1:3000', '[::1]:3000', 'localhost'])(
      'accepts %s',
      (host) => {
        expect(isHttpHost(host)).toBe(true);
        expect(publicBaseUrl(undefined, { headers: { host } }, 3000)).toBe(`http://${host}`);
      },
    );

    it.each([
      'evil.com/path',
      'user@evil.com',
      'a.com?x',
      'a.com#f',
      'a.com:99999x',
      '-a.com',
      '',
      'a b',
      '[zz::1]',
      'a.com\\x',
    ])('refuses %j, and links fall back to localhost', (host) => {
      expect(isHttpHost(host)).toBe(false);
      expect(publicBaseUrl(undefined, { headers: { host } }, 3000)).toBe('http://localhost:3000');
    });

    it('refuses what is not a string (two Host headers)', () => {
      expect(isHttpHost(['a.com', 'b.com'])).toBe(false);
      expect(isHttpHost(undefined)).toBe(false);
    });

    it('prefers the configured public URL, and https on a TLS socket', () => {
      const request = { headers: { host: 'a.com' }, socket: { encrypted: true } };
      expect(publicBaseUrl('https://api.example.com', request, 3000)).toBe(
        'https://api.example.com',
      );
      expect(publicBaseUrl(undefined, request, 3000)).toBe('https://a.com');
    });
  });

  describe('parseBoolean / readBoolean', () => {
    it.each([
      ['true', true],
      [' YES ', true],
      ['1', true],
      ['on', true],
      ['False', false],
      ['0', false],
      ['no', false],
      ['off', false],
    ])('reads %j as %s', (raw, expected) => {
      expect(parseBoolean('X', raw)).toBe(expected);
      expect(readBoolean({ X: raw }, 'X', !expected)).toBe(expected);
    });

    it.each(['treu', '2', 'enabled'])('refuses %j, naming the variable', (raw) => {
      expect(() => readBoolean({ ARCP_X: raw }, 'ARCP_X', false)).toThrow(
        `ARCP_X must be true or false, got "${raw}"`,
      );
    });

    it('gives the fallback when unset or blank', () => {
      expect(readBoolean({}, 'X', true)).toBe(true);
      expect(readBoolean({ X: '  ' }, 'X', false)).toBe(false);
    });
  });

  describe('lowVarietySecret', () => {
    it.each([
      ['aaaaaaaaaaaaaaaaaaaa', 'has only 1 different characters'],
      ['abababababababab', 'has only 2 different characters'],
      ['abcdefgabcdefg', 'has only 7 different characters'],
      ['   ', 'is white space only'],
    ])('refuses %j', (secret, reason) => {
      expect(lowVarietySecret(secret)).toMatch(reason);
    });

    it.each(['abcdefgh', 'a-valid-agent-key', 'kR4t9Qw2LmZ8xY1p'])('accepts %j', (secret) => {
      expect(lowVarietySecret(secret)).toBeUndefined();
    });
  });

  describe('parseAuthorization', () => {
    it.each([
      ['DPoP abc.def-ghi', { scheme: 'DPoP', token: 'abc.def-ghi' }],
      ['dpop abc', { scheme: 'DPoP', token: 'abc' }],
      ['Bearer abc==', { scheme: 'Bearer', token: 'abc==' }],
      ['BEARER\tabc ', { scheme: 'Bearer', token: 'abc' }],
    ])('reads %j', (header, expected) => {
      expect(parseAuthorization(header)).toEqual(expected);
    });

    it.each([
      undefined,
      '',
      'Basic dXNlcjpwYXNz',
      'DPoP',
      'DPoP ',
      'DPoP a b',
      'DPoP a"b',
      'DPoPabc',
      `DPoP ${'a'.repeat(16_385)}`,
    ])('gives undefined for %j', (header) => {
      expect(parseAuthorization(header)).toBeUndefined();
    });

    it('gives undefined for several Authorization headers', () => {
      expect(parseAuthorization(['DPoP a', 'DPoP b'])).toBeUndefined();
    });
  });
});
