import { describe, expect, it } from '@jest/globals';
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';
import { createRequestUrlResolver } from './request-url.resolver.js';
import { hasMultipleHostHeaders } from './request-headers.util.js';

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

describe('finding 3: createRequestUrlResolver with allowedOrigins', () => {
  const pinned = createRequestUrlResolver({
    allowedOrigins: ['https://api.example.com', 'http://127.0.0.1:3000'],
  });
  const tls = (url: string, host: string): DPoPHttpRequest => ({
    ...req(url, { host }),
    socket: { encrypted: true, remoteAddress: '203.0.113.9' },
  });

  it('keeps URLs on an allowed origin, in any spelling of its host', () => {
    expect(pinned(tls('/a', 'api.example.com'))).toBe('https://api.example.com/a');
    expect(pinned(tls('/a', 'API.example.com:443'))).toBe('https://API.example.com:443/a');
    expect(pinned(req('/a', { host: '127.0.0.1:3000' }))).toBe('http://127.0.0.1:3000/a');
  });

  it.each([
    ['another host', tls('/a', 'other-rs.example')],
    ['another port', tls('/a', 'api.example.com:8443')],
    ['another scheme', req('/a', { host: 'api.example.com' })],
  ])('refuses %s', (_what, request) => {
    expect(pinned(request)).toBeUndefined();
  });
});

describe('finding 7: hasMultipleHostHeaders', () => {
  it('counts Host headers in rawHeaders (Node) or raw.rawHeaders (Fastify), case-insensitively', () => {
    const two = ['Host', 'a', 'X', '1', 'host', 'b'];
    expect(hasMultipleHostHeaders({ headers: {}, rawHeaders: two })).toBe(true);
    expect(hasMultipleHostHeaders({ headers: {}, raw: { rawHeaders: two } })).toBe(true);
    expect(hasMultipleHostHeaders({ headers: {}, rawHeaders: ['Host', 'a', 'X-Host', 'b'] })).toBe(
      false,
    );
    expect(hasMultipleHostHeaders({ headers: {} })).toBe(false);
  });
});
