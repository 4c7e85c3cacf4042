import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { replayKey } from './replay-key.util.js';

describe('replayKey', () => {
  it('is base64url(SHA-256(jkt "." jti)), 43 characters, whatever the jti length', () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    for (const jti of ['x', 'e1j3V_bKic8-LAEB', 'a'.repeat(256)]) {
      const key = replayKey(jkt, jti);
      expect(key).toBe(createHash('sha256').update(`${jkt}.${jti}`).digest('base64url'));
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('differs for the same jti under two proof keys, and for two jtis under one key', () => {
    expect(replayKey('jkt-a', 'same')).not.toBe(replayKey('jkt-b', 'same'));
    expect(replayKey('jkt-a', 'a'.repeat(200))).not.toBe(replayKey('jkt-a', 'a'.repeat(199) + 'b'));
  });
});
