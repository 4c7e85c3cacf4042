import { describe, expect, it } from '@jest/globals';
import { resolveDPoPOptions } from './dpop-options.resolver.js';
import { DPOP_OPTION_NAMES } from './dpop-options.validator.js';
import { InMemoryJtiStore } from '../stores/in-memory-jti.store.js';
import type { DPoPModuleOptions } from './dpop-module-options.interface.js';

const resolve = (options: Record<string, unknown>) => resolveDPoPOptions(options);

describe('resolveDPoPOptions: every option is checked at start-up', () => {
  it.each([
    ['enabled', 'yes'],
    ['enabled', 1],
    ['required', 'true'],
    ['required', null],
    ['strictAuthorizationScheme', 'false'],
    ['allowBearerBoundTokens', 'true'],
    ['logRefusals', 0],
    ['proofTtl', '120'],
    ['clockSkew', '60'],
    ['maxProofLength', 0],
    ['maxProofLength', '8192'],
    ['keyCacheSize', -1],
    ['algorithms', 'EdDSA'],
    ['trustedProxies', '127.0.0.1'],
    ['trustedProxies', [42]],
    ['trustedProxies', ['not-an-ip']],
    ['forwardedHeaders', 'x-forwarded-for'],
    ['forwardedHeaders', 'Forwarded'],
    ['forwardedHeaders', ''],
    ['publicUrl', 42],
    ['publicUrl', 'ftp://example.com'],
    ['publicUrl', 'https://example.com/?q=1'],
    ['store', {}],
    ['store', 'redis'],
    ['nonce', 'yes'],
    ['nonce', null],
    ['nonce', { secret: 'short' }],
    ['requestUrl', 'https://example.com'],
    ['resolveTokenBinding', true],
    ['clock', 0],
    ['problemTypeBase', 42],
    ['problemTypeBase', 'not a uri'],
    ['problemTypeBase', 'problems/'],
    ['requestProperty', ''],
    ['requestProperty', 42],
    ['requestProperty', '__proto__'],
    ['requestProperty', 'headers'],
    ['requestProperty', 'body'],
    ['fromEnv', 'yes'],
    ['listeners', {}],
    ['listeners', [{}]],
    ['listeners', [() => undefined]],
  ])('refuses %s = %p with a message naming it', (name, value) => {
    expect(() => resolve({ [name]: value })).toThrow(name);
  });

  it.each([
    ['requierd', 'required'],
    ['enable', 'enabled'],
    ['proofTTL', 'proofTtl'],
    ['forwardedHeader', 'forwardedHeaders'],
    ['publicURL', 'publicUrl'],
  ])('refuses the unknown option %s and suggests %s', (typo, meant) => {
    expect(() => resolve({ [typo]: true })).toThrow(
      new RegExp(`Unknown DPoP option ${typo} \\(did you mean ${meant}\\?\\)`),
    );
  });

  it('refuses an unknown option that resembles nothing, without a suggestion', () => {
    expect(() => resolve({ redisUrl: 'redis://x' })).toThrow(/^Unknown DPoP option redisUrl$/);
  });

  it('refuses options that are not an object', () => {
    expect(() => resolveDPoPOptions(null as never)).toThrow(/DPoP options must be an object/);
    expect(() => resolveDPoPOptions([] as never)).toThrow(/DPoP options must be an object/);
  });

  it('accepts every option with a good value', () => {
    const options: Required<DPoPModuleOptions> = {
      enabled: true,
      required: true,
      proofTtl: 60,
      clockSkew: 5,
      algorithms: ['ES256'],
      store: new InMemoryJtiStore(),
      publicUrl: 'https://api.example.com/arcp',
      allowedOrigins: ['https://api.example.com'],
      trustedProxies: ['10.0.0.0/8'],
      forwardedHeaders: 'forwarded',
      strictAuthorizationScheme: false,
      allowBearerBoundTokens: true,
      nonce: { secret: 'q3Z9-vK2xT7pLm4Rw8Ny1Bc6Hd0Jf5Gs' },
      requestUrl: () => undefined,
      resolveTokenBinding: () => undefined,
      problemTypeBase: 'urn:example:problems:',
      requestProperty: 'proof',
      maxProofLength: 4096,
      keyCacheSize: 0,
      clock: Date.now,
      fromEnv: {},
      listeners: [{ onDPoPEvent: () => undefined }],
      logRefusals: false,
      publicRouteMetadata: ['isPublic'],
      accessToken: {
        audience: 'https://api.example.com/arcp',
        keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }],
      },
      protectedResource: { resource: '/agents', authorization_servers: ['https://as.example'] },
      proofBudget: { perClient: 100, perKey: 50, interval: 10, maxLive: 1000, maxTracked: 500 },
    };
    expect(Object.keys(options).sort()).toEqual([...DPOP_OPTION_NAMES].sort());
    expect(resolveDPoPOptions(options)).toMatchObject({
      forwardedHeaders: 'forwarded',
      requestProperty: 'proof',
      logRefusals: false,
    });
  });

  it('lets undefined members mean the default', () => {
    expect(resolve({ enabled: undefined, forwardedHeaders: undefined })).toMatchObject({
      enabled: true,
      forwardedHeaders: 'x-forwarded',
    });
  });
});

describe('resolveDPoPOptions: fromEnv', () => {
  it('reads the environment given, and options set in code win over it', () => {
    const env = { DPOP_REQUIRED: 'true', DPOP_PROOF_TTL: '30', DPOP_CLOCK_SKEW: '10' };
    expect(resolve({ fromEnv: env, proofTtl: 90, clockSkew: undefined })).toMatchObject({
      required: true,
      proofTtl: 90,
      clockSkew: 10,
    });
  });

  it('refuses a bad variable with a message naming it', () => {
    expect(() => resolve({ fromEnv: { DPOP_PROOF_TTL: 'soon' } })).toThrow(/DPOP_PROOF_TTL/);
  });
});
