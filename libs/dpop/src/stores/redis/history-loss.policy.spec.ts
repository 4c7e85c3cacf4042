import { describe, expect, it } from '@jest/globals';
import { lossVerdict, type LossPolicyInput } from './history-loss.policy.js';

const LOSS = 1_800_000_000_000;
const base: LossPolicyInput = {
  now: LOSS + 100,
  lossAt: LOSS,
  windowMs: 181_000,
  clockSkewMs: 5_000,
  proof: { iat: Math.floor(LOSS / 1000) },
  recoveryNonceValid: false,
  recovery: true,
};

describe('the loss policy', () => {
  it('accepts everything once a window has passed since the loss', () => {
    expect(lossVerdict({ ...base, now: LOSS + 181_000, proof: undefined })).toBeUndefined();
  });

  it('within the window, asks for a nonce when the iat may predate the loss plus the skew', () => {
    expect(lossVerdict(base)).toEqual({ refuse: 'nonce', retryAfter: 6 });
    // An iat exactly at the loss plus the skew may still predate it.
    expect(lossVerdict({ ...base, proof: { iat: (LOSS + 5_000) / 1000 } })).toEqual({
      refuse: 'nonce',
      retryAfter: 6,
    });
  });

  it('accepts an iat later than the loss plus the skew', () => {
    expect(lossVerdict({ ...base, proof: { iat: (LOSS + 6_000) / 1000 } })).toBeUndefined();
  });

  it("judges the iat with the verifier's skew when it is larger than the store's", () => {
    const proof = { iat: (LOSS + 6_000) / 1000, clockSkew: 300 };
    expect(lossVerdict({ ...base, proof })).toEqual({ refuse: 'nonce', retryAfter: 301 });
  });

  it('accepts a proof that carries a valid recovery nonce, whatever its iat', () => {
    expect(lossVerdict({ ...base, recoveryNonceValid: true })).toBeUndefined();
  });

  it('refuses (503) a proof it cannot judge: no iat', () => {
    expect(lossVerdict({ ...base, proof: undefined })).toEqual({ refuse: 'no-iat' });
  });

  it('without recovery nonces, 503 with the real wait', () => {
    expect(lossVerdict({ ...base, recovery: false })).toEqual({ refuse: 'wait', retryAfter: 6 });
  });
});
