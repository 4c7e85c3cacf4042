import { describe, expect, it } from '@jest/globals';
import { isHttpHost, parseBooleanSetting } from './setting-syntax.util.js';

describe('isHttpHost', () => {
  it.each(['example.com', 'api.example.com:8443', '127.0.0.1:3000', '[::1]:3000', 'localhost'])(
    'accepts %s',
    (host) => expect(isHttpHost(host)).toBe(true),
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
  ])('refuses %j', (host) => expect(isHttpHost(host)).toBe(false));

  it('refuses what is not a string', () => {
    expect(isHttpHost(['example.com'])).toBe(false);
    expect(isHttpHost(undefined)).toBe(false);
  });
});

describe('parseBooleanSetting', () => {
  it.each([
    ['true', true],
    [' YES ', true],
    ['1', true],
    ['on', true],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('reads %j as %s', (raw, expected) => expect(parseBooleanSetting('X', raw)).toBe(expected));

  it.each(['', 'treu', '2', 'enabled'])('refuses %j, naming the setting', (raw) => {
    expect(() => parseBooleanSetting('DPOP_REQUIRED', raw)).toThrow(
      `DPOP_REQUIRED must be true or false, got "${raw}"`,
    );
  });
});
