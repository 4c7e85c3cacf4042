import { describe, expect, it } from '@jest/globals';
import { RECOVERY_NONCE_MAX_AGE_MS, RecoveryNonces } from './recovery-nonce.mac.js';

const secret = Buffer.from('a secret of the replay store, 32b');
const T = 1_800_000_000_000;

describe('recovery nonces', () => {
  const nonces = new RecoveryNonces(secret);

  it('are NQCHARs and name the time they were handed out', () => {
    const nonce = nonces.mint(T);
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(nonces.mintedAt(nonce, T)).toBe(T);
    expect(nonces.mintedAt(nonce, T + RECOVERY_NONCE_MAX_AGE_MS)).toBe(T);
  });

  it('are refused once older than the maximum age, or from the future', () => {
    const nonce = nonces.mint(T);
    expect(nonces.mintedAt(nonce, T + RECOVERY_NONCE_MAX_AGE_MS + 1)).toBeUndefined();
    expect(nonces.mintedAt(nonce, T - 1000)).toBe(T);
    expect(nonces.mintedAt(nonce, T - 1001)).toBeUndefined();
  });

  it('are refused when forged, edited or MACed with another secret', () => {
    const nonce = nonces.mint(T);
    const [time, mac] = nonce.split('.') as [string, string];
    expect(nonces.mintedAt(`${(T + 1).toString(36)}.${mac}`, T)).toBeUndefined();
    expect(nonces.mintedAt(`${time}.${'A'.repeat(22)}`, T)).toBeUndefined();
    expect(nonces.mintedAt(`${time}.${mac}x`, T)).toBeUndefined();
    expect(new RecoveryNonces(Buffer.from('another')).mintedAt(nonce, T)).toBeUndefined();
    expect(nonces.mintedAt('', T)).toBeUndefined();
  });
});
