import { describe, expect, it } from '@jest/globals';
import type { VerifiedAccessToken } from '../access-token/access-token.types.js';
import {
  checkResourceAudience,
  looseResourcePath,
  resourcePathOf,
} from './access-token-rules.util.js';

const token = (aud: unknown): VerifiedAccessToken => ({
  format: 'jwt',
  claims: { aud },
  scopes: [],
});

describe('checkResourceAudience', () => {
  it("passes a token for the resource, and refuses one for another naming claim 'aud'", () => {
    expect(() =>
      checkResourceAudience(token('https://a.example/mcp'), 'https://a.example/mcp'),
    ).not.toThrow();
    expect(() =>
      checkResourceAudience(token(['x', 'https://a.example/mcp']), 'https://a.example/mcp'),
    ).not.toThrow();
    expect(() => checkResourceAudience(token('https://a.example/other'), undefined)).not.toThrow();
    expect(() =>
      checkResourceAudience(token('https://a.example/other'), 'https://a.example/mcp'),
    ).toThrow(expect.objectContaining({ code: 'ERR_DPOP_TOKEN_INVALID', claim: 'aud' }));
  });
});

describe('resourcePathOf', () => {
  it('takes the route the framework matched over the URL', () => {
    expect(resourcePathOf({ routeOptions: { url: '/tools/:id' } }, '/%74ools/1')).toBe(
      '/tools/:id',
    );
    expect(resourcePathOf({ route: { path: '/me' }, baseUrl: '/tools' }, '/TOOLS/me')).toBe(
      '/tools/me',
    );
    expect(resourcePathOf({ route: { path: '/tools/me' } }, '/TOOLS/me')).toBe('/tools/me');
  });

  it('outside a route, spells the URL path as loosely as routers match it', () => {
    expect(resourcePathOf({}, '/%74ools/Me')).toBe('/tools/me');
    expect(resourcePathOf({ route: { path: /regexp/ } }, '/API/x')).toBe('/api/x');
    expect(resourcePathOf({}, undefined)).toBeUndefined();
  });

  it('decodes unreserved characters only', () => {
    expect(looseResourcePath('/%41%7a%30%2D%2e%5F%7E')).toBe('/az0-._~');
    // Reserved and other characters stay encoded: %2F is not a path separator.
    expect(looseResourcePath('/tools%2Fme/%20/%3F')).toBe('/tools%2fme/%20/%3f');
  });
});
