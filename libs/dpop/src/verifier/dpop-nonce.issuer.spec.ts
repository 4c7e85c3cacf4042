import { describe, expect, it } from '@jest/globals';
import { DPoPNonceIssuer } from './dpop-nonce.issuer.js';

const SECRET = 'a-shared-secret-of-at-least-32-characters!';

describe('DPoPNonceIssuer', () => {
  it('accepts the current and the previous window, and nothing older or newer', () => {
    const issuer = new DPoPNonceIssuer({ secret: SECRET, windowSeconds: 60 });
    const t = 1_800_000_000_000;
    const nonce = issuer.current(t);
    expect(issuer.isValid(nonce, t)).toBe(true);
    expect(issuer.isValid(nonce, t + 60_000)).toBe(true); // one window later: the previous one
    expect(issuer.isValid(nonce, t + 120_000)).toBe(false); // two windows later: expired
    expect(issuer.isValid(issuer.current(t + 60_000), t)).toBe(false); // a future nonce
  });

  it('gives the same nonce on every instance with the same secret, another with another secret', () => {
    const t = 1_800_000_000_000;
    const a = new DPoPNonceIssuer({ secret: SECRET });
    const b = new DPoPNonceIssuer({ secret: SECRET });
    const c = new DPoPNonceIssuer({ secret: 'another-shared-secret-of-32-characters!!' });
    expect(b.isValid(a.current(t), t)).toBe(true);
    expect(c.isValid(a.current(t), t)).toBe(false);
  });

  it('refuses a missing, empty or forged nonce', () => {
    const t = 1_800_000_000_000;
    const issuer = new DPoPNonceIssuer({ secret: SECRET });
    const nonce = issuer.current(t);
    const [window] = nonce.split('.');
    expect(issuer.isValid(undefined, t)).toBe(false);
    expect(issuer.isValid('', t)).toBe(false);
    expect(issuer.isValid(`${window}.${'A'.repeat(32)}`, t)).toBe(false);
  });

  it('makes a random secret when none is given, and says so', () => {
    const a = new DPoPNonceIssuer();
    const b = new DPoPNonceIssuer();
    expect(a.ephemeral).toBe(true);
    expect(a.current(0)).not.toBe(b.current(0));
  });

  it('refuses a short secret and a nonsensical window', () => {
    expect(() => new DPoPNonceIssuer({ secret: 'short' })).toThrow(/32/);
    expect(() => new DPoPNonceIssuer({ secret: SECRET, windowSeconds: 0 })).toThrow(/window/);
  });
});
