import { describe, expect, it } from '@jest/globals';
import { normalizeHttpUri, stripQueryAndFragment } from './http-uri.util.js';

describe('normalizeHttpUri', () => {
  it.each([
    ['HTTPS://Example.COM/a', 'https://example.com/a'],
    ['https://example.com:443/a', 'https://example.com/a'],
    ['http://example.com:80/a', 'http://example.com/a'],
    ['http://example.com:8080/a', 'http://example.com:8080/a'],
    ['https://example.com', 'https://example.com/'],
    ['https://example.com/a/./b/../c', 'https://example.com/a/c'],
    ['https://example.com/a/%2e%2e/c', 'https://example.com/c'],
    ['https://example.com/%7euser', 'https://example.com/~user'],
    ['https://example.com/a%2fb', 'https://example.com/a%2Fb'],
    ['https://example.com/a?q=1#f', 'https://example.com/a'],
    ['https://[::1]:443/a', 'https://[::1]/a'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHttpUri(input)).toBe(expected);
  });

  it('keeps the path case-sensitive', () => {
    expect(normalizeHttpUri('https://example.com/A')).not.toBe(
      normalizeHttpUri('https://example.com/a'),
    );
  });

  it.each([
    '/relative',
    'ftp://example.com/a',
    'https://user:pw@example.com/a',
    'not a url',
    'https://',
  ])('refuses %s', (input) => {
    expect(normalizeHttpUri(input)).toBeUndefined();
  });
});

describe('stripQueryAndFragment', () => {
  it.each([
    ['/a?b#c', '/a'],
    ['/a#c?b', '/a'],
    ['/a', '/a'],
  ])('%s → %s', (input, expected) => expect(stripQueryAndFragment(input)).toBe(expected));
});
