import { describe, expect, it } from '@jest/globals';
import { dpopOptionsFromEnv, resolveDPoPOptions } from './dpop-options.util.js';

describe('dpopOptionsFromEnv', () => {
  it('leaves unset and empty variables out, so the defaults apply', () => {
    expect(dpopOptionsFromEnv({})).toEqual({});
    expect(dpopOptionsFromEnv({ DPOP_ENABLED: '  ' })).toEqual({});
    expect(resolveDPoPOptions(dpopOptionsFromEnv({}))).toMatchObject({
      enabled: true,
      required: false,
      proofTtl: 120,
      clockSkew: 60,
      algorithms: ['EdDSA', 'Ed25519', 'ES256', 'RS256'],
    });
  });

  it('reads every variable', () => {
    expect(
      dpopOptionsFromEnv({
        DPOP_ENABLED: 'false',
        DPOP_REQUIRED: 'TRUE',
        DPOP_PROOF_TTL: '60',
        DPOP_CLOCK_SKEW: '30',
        DPOP_ALGORITHMS: ' EdDSA , ES256 ,',
      }),
    ).toEqual({
      enabled: false,
      required: true,
      proofTtl: 60,
      clockSkew: 30,
      algorithms: ['EdDSA', 'ES256'],
    });
  });

  it.each([
    ['DPOP_ENABLED', 'maybe'],
    ['DPOP_REQUIRED', '2'],
    ['DPOP_PROOF_TTL', 'abc'],
    ['DPOP_PROOF_TTL', '-5'],
    ['DPOP_PROOF_TTL', '0'],
    ['DPOP_PROOF_TTL', '1.5'],
    ['DPOP_CLOCK_SKEW', '999999'],
    ['DPOP_ALGORITHMS', 'HS256'],
    ['DPOP_ALGORITHMS', 'EdDSA,none'],
    ['DPOP_ALGORITHMS', ','],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => dpopOptionsFromEnv({ [name]: value })).toThrow(name);
  });
});

describe('dpopOptionsFromEnv: server nonces', () => {
  it('turns nonces on with a shared secret and window', () => {
    const options = dpopOptionsFromEnv({
      DPOP_NONCE_REQUIRED: 'true',
      DPOP_NONCE_SECRET: 's'.repeat(32),
      DPOP_NONCE_WINDOW: '30',
    });
    expect(options.nonce).toEqual({ secret: 's'.repeat(32), windowSeconds: 30 });
    expect(resolveDPoPOptions(options).nonces?.ephemeral).toBe(false);
  });

  it('leaves nonces off unless required, and uses a random secret when none is given', () => {
    expect(dpopOptionsFromEnv({ DPOP_NONCE_SECRET: 's'.repeat(32) }).nonce).toBeUndefined();
    expect(dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'false' }).nonce).toBeUndefined();
    expect(
      resolveDPoPOptions(dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'true' })).nonces?.ephemeral,
    ).toBe(true);
  });

  it.each([
    ['DPOP_NONCE_SECRET', { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: 'short' }],
    ['DPOP_NONCE_WINDOW', { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_WINDOW: 'soon' }],
    ['DPOP_NONCE_REQUIRED', { DPOP_NONCE_REQUIRED: 'perhaps' }],
  ])('refuses a bad %s', (name, env) => {
    expect(() => dpopOptionsFromEnv(env)).toThrow(name);
  });
});

describe('resolveDPoPOptions', () => {
  it('refuses impossible settings at start-up', () => {
    expect(() => resolveDPoPOptions({ proofTtl: 0 })).toThrow(/proofTtl/);
    expect(() => resolveDPoPOptions({ clockSkew: Number.NaN })).toThrow(/clockSkew/);
    expect(() => resolveDPoPOptions({ algorithms: [] })).toThrow(/algorithms/);
    expect(() => resolveDPoPOptions({ algorithms: ['HS512' as never] })).toThrow(/HS512/);
    expect(() => resolveDPoPOptions({ keyCacheSize: Number.NaN })).toThrow(/keyCacheSize/);
    expect(() => resolveDPoPOptions({ keyCacheSize: Infinity })).toThrow(/keyCacheSize/);
  });
});

describe('allowBearerBoundTokens', () => {
  it('is off by default (RFC 9449 §7.2) and contradicts strictAuthorizationScheme', () => {
    expect(resolveDPoPOptions({}).allowBearerBoundTokens).toBe(false);
    expect(resolveDPoPOptions({ allowBearerBoundTokens: true }).allowBearerBoundTokens).toBe(true);
    expect(() =>
      resolveDPoPOptions({ allowBearerBoundTokens: true, strictAuthorizationScheme: true }),
    ).toThrow(/strictAuthorizationScheme and allowBearerBoundTokens contradict/);
  });
});
