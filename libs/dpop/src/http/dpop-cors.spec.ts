import { describe, expect, it } from '@jest/globals';
import { dpopCors } from './dpop-cors.js';

describe('dpopCors', () => {
  it('allows Authorization and DPoP, and exposes DPoP-Nonce, WWW-Authenticate and Retry-After', () => {
    expect(dpopCors(['https://app.example.com', 'http://localhost:5173'])).toEqual({
      origin: ['https://app.example.com', 'http://localhost:5173'],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'DPoP', 'Content-Type'],
      exposedHeaders: ['DPoP-Nonce', 'WWW-Authenticate', 'Retry-After'],
      maxAge: 600,
      credentials: false,
    });
  });

  it('adds headers of the API without repeating its own', () => {
    const settings = dpopCors('*', {
      allowedHeaders: ['X-Request-Id', 'dpop'],
      exposedHeaders: ['Link'],
      maxAge: 60,
    });
    expect(settings.origin).toBe('*');
    expect(settings.allowedHeaders).toEqual([
      'Authorization',
      'DPoP',
      'Content-Type',
      'X-Request-Id',
    ]);
    expect(settings.exposedHeaders).toEqual([
      'DPoP-Nonce',
      'WWW-Authenticate',
      'Retry-After',
      'Link',
    ]);
    expect(settings.maxAge).toBe(60);
  });

  it.each([
    'https://app.example.com/',
    'https://app.example.com/path',
    'app.example.com',
    'https://*.example.com',
    'ftp://files.example.com',
    'HTTPS://APP.EXAMPLE.COM',
    '',
  ])('refuses %j, which never equals an Origin header', (origin) => {
    expect(() => dpopCors([origin])).toThrow(TypeError);
  });

  it("refuses credentials with '*'", () => {
    expect(() => dpopCors('*', { credentials: true })).toThrow(/credentials/);
    expect(dpopCors(['https://a.example'], { credentials: true }).credentials).toBe(true);
  });
});
