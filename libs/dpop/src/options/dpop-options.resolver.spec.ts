import { describe, expect, it } from '@jest/globals';
import {
  dpopOptionsFromEnv,
  dpopOptionsWarnings,
  resolveDPoPOptions,
} from './dpop-options.resolver.js';

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
        DPOP_ENABLED: 'Yes',
        DPOP_REQUIRED: 'TRUE',
        DPOP_PROOF_TTL: '60',
        DPOP_CLOCK_SKEW: '30',
        DPOP_ALGORITHMS: ' EdDSA , ES256 ,',
      }),
    ).toEqual({
      enabled: true,
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

/** A random-looking 32-character secret. */
const SECRET = 'q3Z9-vK2xT7pLm4Rw8Ny1Bc6Hd0Jf5Gs';

describe('dpopOptionsFromEnv: server nonces', () => {
  it('turns nonces on with a shared secret and window', () => {
    const options = dpopOptionsFromEnv({
      DPOP_NONCE_REQUIRED: 'true',
      DPOP_NONCE_SECRET: SECRET,
      DPOP_NONCE_WINDOW: '30',
    });
    expect(options.nonce).toEqual({ secret: SECRET, windowSeconds: 30 });
    expect(resolveDPoPOptions(options).nonces?.ephemeral).toBe(false);
  });

  it('leaves nonces off unless required, and uses a random secret when none is given', () => {
    expect(dpopOptionsFromEnv({}).nonce).toBeUndefined();
    expect(dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'false' }).nonce).toBeUndefined();
    expect(
      resolveDPoPOptions(dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'true' })).nonces?.ephemeral,
    ).toBe(true);
  });

  it('DPOP_NONCE_REQUIRED=routes: an issuer for routes with nonce: true, none required module-wide', () => {
    const options = dpopOptionsFromEnv({
      DPOP_NONCE_REQUIRED: 'Routes',
      DPOP_NONCE_SECRET: SECRET,
      DPOP_NONCE_WINDOW: '30',
    });
    expect(options.nonce).toEqual({ routesOnly: true, secret: SECRET, windowSeconds: 30 });
    const resolved = resolveDPoPOptions(options);
    expect(resolved.nonces).toBeUndefined();
    expect(resolved.routeNonces?.ephemeral).toBe(false);
    expect(() => dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'route' })).toThrow(
      'DPOP_NONCE_REQUIRED must be true, false or routes, got "route"',
    );
  });

  it('nonce: { routesOnly } in code; the module-wide forms leave routeNonces unset', () => {
    const routesOnly = resolveDPoPOptions({ nonce: { secret: SECRET, routesOnly: true } });
    expect([routesOnly.nonces, routesOnly.routeNonces?.ephemeral]).toEqual([undefined, false]);
    for (const nonce of [true, { secret: SECRET }, { secret: SECRET, routesOnly: false }]) {
      const wide = resolveDPoPOptions({ nonce });
      expect([wide.nonces === undefined, wide.routeNonces]).toEqual([false, undefined]);
    }
    expect(resolveDPoPOptions({ nonce: false })).toMatchObject({
      nonces: undefined,
      routeNonces: undefined,
    });
    expect(() => resolveDPoPOptions({ nonce: { routesOnly: 'yes' as never } })).toThrow(
      /nonce.routesOnly must be true or false, got yes/,
    );
    // The random per-process secret warns in either form.
    expect(dpopOptionsWarnings(resolveDPoPOptions({ nonce: { routesOnly: true } }))).toEqual([
      expect.stringMatching(/random per-process secret/),
    ]);
  });

  it.each([
    ['DPOP_NONCE_SECRET', { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: 'short' }],
    ['DPOP_NONCE_WINDOW', { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_WINDOW: 'soon' }],
    ['DPOP_NONCE_REQUIRED', { DPOP_NONCE_REQUIRED: 'perhaps' }],
  ])('refuses a bad %s', (name, env) => {
    expect(() => dpopOptionsFromEnv(env)).toThrow(name);
  });
});

describe('issue 15: settings that started without a word', () => {
  it('refuses DPOP_ENABLED=false with DPOP_REQUIRED=true, naming both', () => {
    const refusal = () => dpopOptionsFromEnv({ DPOP_ENABLED: 'false', DPOP_REQUIRED: 'true' });
    expect(refusal).toThrow(/DPOP_ENABLED=false contradicts DPOP_REQUIRED=true/);
    // Either alone, or both agreeing, is fine.
    expect(dpopOptionsFromEnv({ DPOP_ENABLED: 'false', DPOP_REQUIRED: 'false' })).toEqual({
      enabled: false,
      required: false,
    });
  });

  it('refuses the options enabled: false with required: true (also through fromEnv)', () => {
    expect(() => resolveDPoPOptions({ enabled: false, required: true })).toThrow(
      /enabled: false and required: true contradict/,
    );
    expect(() =>
      resolveDPoPOptions({ required: true, fromEnv: { DPOP_ENABLED: 'false' } }),
    ).toThrow(/enabled: false and required: true contradict/);
    expect(resolveDPoPOptions({ enabled: false }).enabled).toBe(false);
  });

  it.each([
    ['DPOP_NONCE_SECRET', { DPOP_NONCE_SECRET: SECRET }],
    ['DPOP_NONCE_WINDOW', { DPOP_NONCE_WINDOW: '30' }],
    ['DPOP_NONCE_SECRET', { DPOP_NONCE_REQUIRED: 'false', DPOP_NONCE_SECRET: SECRET }],
    ['DPOP_NONCE_WINDOW', { DPOP_NONCE_REQUIRED: 'off', DPOP_NONCE_WINDOW: '30' }],
  ])('refuses %s while nonces are off (%j)', (name, env) => {
    expect(() => dpopOptionsFromEnv(env)).toThrow(
      new RegExp(`${name} is set but nonces are off: set DPOP_NONCE_REQUIRED=true`),
    );
  });

  it.each([
    ['white space only', ' '.repeat(40), /white space only/],
    ['one character', 'a'.repeat(40), /only 1 different characters/],
    ['two characters', 'ab'.repeat(20), /only 2 different characters/],
    ['seven characters', 'abcdefg'.repeat(5), /only 7 different characters/],
  ])('refuses a nonce secret of low variety: %s', (_what, secret, message) => {
    expect(() =>
      dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: secret }),
    ).toThrow(message);
    expect(() =>
      dpopOptionsFromEnv({ DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: secret }),
    ).toThrow(/DPOP_NONCE_SECRET/);
  });

  it('refuses low-variety nonce secrets given as options (a string or bytes)', () => {
    expect(() => resolveDPoPOptions({ nonce: { secret: ' '.repeat(32) } })).toThrow(
      /DPoP nonce secret is white space only/,
    );
    expect(() => resolveDPoPOptions({ nonce: { secret: new Uint8Array(32) } })).toThrow(
      /DPoP nonce secret has only 1 different bytes/,
    );
    expect(resolveDPoPOptions({ nonce: { secret: SECRET } }).nonces?.ephemeral).toBe(false);
    expect(resolveDPoPOptions({ nonce: { secret: 'abcdefgh'.repeat(4) } }).nonces).toBeDefined();
  });

  it.each([
    ['DPOP_PROOF_TTL', '86400'],
    ['DPOP_CLOCK_SKEW', '86400'],
    ['DPOP_PROOF_TTL', '3601'],
    ['DPOP_CLOCK_SKEW', '3601'],
  ])('refuses %s=%s: at most 3600 seconds', (name, value) => {
    expect(() => dpopOptionsFromEnv({ [name]: value })).toThrow(
      new RegExp(`${name} must be a whole number of seconds from 1 to 3600, got "${value}"`),
    );
  });

  it('issue 21: caps DPOP_NONCE_WINDOW and nonce.windowSeconds like the other windows', () => {
    const env = { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_WINDOW: '86400' };
    expect(() => dpopOptionsFromEnv(env)).toThrow(
      /DPOP_NONCE_WINDOW must be a whole number of seconds from 1 to 3600, got "86400"/,
    );
    expect(dpopOptionsFromEnv({ ...env, DPOP_NONCE_WINDOW: '3600' }).nonce).toEqual({
      windowSeconds: 3600,
    });
    expect(() => resolveDPoPOptions({ nonce: { windowSeconds: 86_400 } })).toThrow(
      /nonce.windowSeconds must be at most 3600/,
    );
    expect(resolveDPoPOptions({ nonce: { windowSeconds: 3600 } }).nonces).toBeDefined();
  });

  it('refuses proofTtl or clockSkew options above 3600 s; accepts 3600', () => {
    expect(() => resolveDPoPOptions({ proofTtl: 86_400 })).toThrow(/proofTtl must be at most 3600/);
    expect(() => resolveDPoPOptions({ clockSkew: 3600.5 })).toThrow(
      /clockSkew must be at most 3600/,
    );
    expect(resolveDPoPOptions({ proofTtl: 3600, clockSkew: 3600 }).proofTtl).toBe(3600);
  });

  it('warns (one line each) about a proofTtl or clockSkew above 300 s, not at 300', () => {
    expect(dpopOptionsWarnings(resolveDPoPOptions({ proofTtl: 300, clockSkew: 300 }))).toEqual([]);
    const warnings = dpopOptionsWarnings(resolveDPoPOptions({ proofTtl: 301, clockSkew: 900 }));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^DPoP option proofTtl is 301 s: RFC 9449 §11\.1/);
    expect(warnings[1]).toMatch(/^DPoP option clockSkew is 900 s/);
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
