import { describe, expect, it } from '@jest/globals';
import type { DPoPHttpRequest } from './dpop-module-options.interface.js';
import { createRequestUrlResolver } from './request-url.util.js';

const req = (
  url: string,
  headers: DPoPHttpRequest['headers'] = { host: 'api.example.com' },
  remoteAddress = '203.0.113.9',
): DPoPHttpRequest => ({
  method: 'POST',
  url,
  headers,
  socket: { encrypted: false, remoteAddress },
});

describe('createRequestUrlResolver', () => {
  const plain = createRequestUrlResolver({});

  it('builds the URL from the connection, the Host header and the path without query', () => {
    expect(plain(req('/a/b?x=1'))).toBe('http://api.example.com/a/b');
    expect(plain({ ...req('/a'), socket: { encrypted: true } })).toBe('https://api.example.com/a');
  });

  it.each([
    ['an absolute-form target', '/ignored', 'http://evil.example/a'],
    ['an asterisk target', '/ignored', '*'],
    ['a backslash', '/ignored', '/x\\..\\a'],
    ['a dot-segment', '/ignored', '/x/../a'],
    ['a single-dot segment', '/ignored', '/x/./a'],
    ['an encoded dot-segment', '/ignored', '/x/%2E%2e/a'],
    ['a trailing encoded dot-segment', '/ignored', '/x/%2e'],
  ])('refuses %s', (_name, _unused, target) => {
    expect(plain(req(target))).toBeUndefined();
  });

  it('keeps dots that are not whole segments', () => {
    expect(plain(req('/v1.2/a..b/.well-known'))).toBe(
      'http://api.example.com/v1.2/a..b/.well-known',
    );
  });

  it.each([
    'evil.example/path',
    'user@evil.example',
    'evil.example?x',
    'evil.example#x',
    '',
    'a b',
  ])('refuses the Host header %j', (host) => {
    expect(plain(req('/a', { host }))).toBeUndefined();
  });

  it('uses Express originalUrl (mount prefixes included) over url', () => {
    expect(plain({ ...req('/a'), originalUrl: '/api/a' })).toBe('http://api.example.com/api/a');
  });

  it('prefixes a configured public URL, normalised once', () => {
    const pub = createRequestUrlResolver({ publicUrl: 'HTTPS://API.Example.com:443/base/' });
    expect(pub(req('/a?q'))).toBe('https://api.example.com/base/a');
    expect(() => createRequestUrlResolver({ publicUrl: 'https://x/?q=1' })).toThrow(/publicUrl/);
    expect(() => createRequestUrlResolver({ publicUrl: 'ftp://x/' })).toThrow(/publicUrl/);
  });

  it('trusts forwarded headers only from listed proxies, IPv4-mapped addresses included', () => {
    const viaProxy = createRequestUrlResolver({ trustedProxies: ['10.0.0.0/8'] });
    const headers = {
      host: 'internal:8080',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
    };
    expect(viaProxy(req('/a', headers, '10.1.2.3'))).toBe('https://api.example.com/a');
    expect(viaProxy(req('/a', headers, '::ffff:10.1.2.3'))).toBe('https://api.example.com/a');
    expect(viaProxy(req('/a', headers, '203.0.113.9'))).toBe('http://internal:8080/a');
  });
});
