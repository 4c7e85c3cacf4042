import { describe, expect, it } from '@jest/globals';
import { RECOVERY_NONCE_MAX_AGE_MS, RecoveryNonces } from './recovery-nonce.mac.js';

const secret = Buffer.from('a secret of the replay store, 32b');
const T = 1_800_000_000_000;
const EPOCH = 'epoch-digest-1';

describe('recovery nonces', () => {
  const nonces = new RecoveryNonces(secret);

  it('are NQCHARs and name the time they were handed out', () => {
    const nonce = nonces.mint(T, EPOCH);
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(nonces.mintedAt(nonce, T, EPOCH)).toBe(T);
    expect(nonces.mintedAt(nonce, T + RECOVERY_NONCE_MAX_AGE_MS, EPOCH)).toBe(T);
  });

  it('are refused once older than the maximum age, or from the future', () => {
    const nonce = nonces.mint(T, EPOCH);
    expect(nonces.mintedAt(nonce, T + RECOVERY_NONCE_MAX_AGE_MS + 1, EPOCH)).toBeUndefined();
    expect(nonces.mintedAt(nonce, T - 1000, EPOCH)).toBe(T);
    expect(nonces.mintedAt(nonce, T - 1001, EPOCH)).toBeUndefined();
  });

  it('are refused when forged, edited or MACed with another secret', () => {
    const nonce = nonces.mint(T, EPOCH);
    const [time, mac] = nonce.split('.') as [string, string];
    expect(nonces.mintedAt(`${(T + 1).toString(36)}.${mac}`, T, EPOCH)).toBeUndefined();
    expect(nonces.mintedAt(`${time}.${'A'.repeat(22)}`, T, EPOCH)).toBeUndefined();
    expect(nonces.mintedAt(`${time}.${mac}x`, T, EPOCH)).toBeUndefined();
    expect(new RecoveryNonces(Buffer.from('another')).mintedAt(nonce, T, EPOCH)).toBeUndefined();
    expect(nonces.mintedAt('', T, EPOCH)).toBeUndefined();
  });

  it('are worth nothing in another epoch (after the next loss), whatever their time', () => {
    const nonce = nonces.mint(T, EPOCH);
    expect(nonces.mintedAt(nonce, T, EPOCH)).toBe(T);
    expect(nonces.mintedAt(nonce, T, 'epoch-digest-2')).toBeUndefined();
  });
});
