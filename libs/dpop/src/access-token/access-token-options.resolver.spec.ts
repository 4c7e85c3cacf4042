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

  it('refuses URLs that are not http(s)', () => {
    expect(() => resolve({ issuer: 'ftp://as.example.com' })).toThrow(/issuer must be an http/);
    expect(() => resolve({ jwksUri: 'not a url' })).toThrow(/jwksUri must be an absolute/);
  });
});
