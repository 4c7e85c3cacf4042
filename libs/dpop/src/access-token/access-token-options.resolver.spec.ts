import { describe, expect, it } from '@jest/globals';
import { resolveAccessTokenOptions } from './access-token-options.resolver.js';
import type { DPoPAccessTokenOptions } from './access-token-options.interface.js';

const resolve = (options: Partial<DPoPAccessTokenOptions>) =>
  resolveAccessTokenOptions(
    { audience: 'https://api.example.com', issuer: 'https://as.example.com', ...options },
    Date.now,
  );

describe('resolveAccessTokenOptions', () => {
  it('defaults to asymmetric algorithms only, and adds HS256 with a secret', () => {
    expect(resolve({}).jwt.algorithms).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519']);
    expect(resolve({ secret: 's'.repeat(32) }).jwt.algorithms).toContain('HS256');
  });

  it('never accepts alg none', () => {
    expect(() => resolve({ algorithms: ['none'] })).toThrow(/"none" is not an accepted/);
  });

  it('refuses HMAC algorithms without a secret, and a short secret', () => {
    expect(() => resolve({ algorithms: ['HS256'] })).toThrow(/HS256 needs a secret/);
    expect(() => resolve({ secret: 'short' })).toThrow(/at least 32 bytes/);
  });

  it('needs an audience and a key source', () => {
    expect(() => resolve({ audience: '' })).toThrow(/audience/);
    expect(() => resolve({ audience: [] })).toThrow(/audience/);
    expect(() =>
      resolveAccessTokenOptions({ audience: 'https://api.example.com' }, Date.now),
    ).toThrow(/needs a key source/);
  });

  it('refuses private or symmetric keys as local keys', () => {
    expect(() => resolve({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'd' }] })).toThrow(
      /public keys/,
    );
    expect(() => resolve({ keys: [{ kty: 'oct', k: 'k' }] })).toThrow(/public keys/);
  });

  it('refuses introspection without an endpoint or an issuer to discover it', () => {
    expect(() =>
      resolveAccessTokenOptions(
        {
          audience: 'https://api.example.com',
          introspection: { clientId: 'rs', clientSecret: 'secret' },
        },
        Date.now,
      ),
    ).toThrow(/introspection needs an endpoint/);
  });

  it('discovers from the issuer only without keys or jwksUri (or for an introspection endpoint)', () => {
    expect(resolve({}).discovery).toBe(true);
    expect(resolve({ secret: 's'.repeat(32) }).discovery).toBe(true);
    expect(resolve({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x' }] }).discovery).toBe(false);
    expect(resolve({ jwksUri: 'https://as.example.com/jwks' }).discovery).toBe(false);
    const introspection = { clientId: 'rs', clientSecret: 'secret' };
    expect(resolve({ jwksUri: 'https://as.example.com/jwks', introspection }).discovery).toBe(true);
    expect(resolve({ issuer: undefined, jwksUri: 'https://as.example.com/jwks' }).discovery).toBe(
      false,
    );
  });

  it('takes any issuer string when it is not discovered, a URL when it is', () => {
    const keys = [{ kty: 'OKP', crv: 'Ed25519', x: 'x' }];
    expect(resolve({ issuer: 'arcp', keys }).issuer).toBe('arcp');
    expect(() => resolve({ issuer: 'arcp' })).toThrow(/issuer must be an absolute http/);
    expect(() => resolve({ issuer: '', keys })).toThrow(/issuer must be a non-empty string/);
  });

  it('refuses URLs that are not http(s)', () => {
    expect(() => resolve({ issuer: 'ftp://as.example.com' })).toThrow(/issuer must be an http/);
    expect(() => resolve({ jwksUri: 'not a url' })).toThrow(/jwksUri must be an absolute/);
  });
});
