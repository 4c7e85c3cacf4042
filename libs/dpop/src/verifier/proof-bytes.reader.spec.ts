import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  ALGORITHMS,
  claimsFor,
  makeKey,
  makeProof,
  signRaw,
  type TestKey,
} from '../testing/proofs.fixture.js';
import { DPoPProofVerifier } from './dpop-proof.verifier.js';
import { DPoPError } from '../errors/dpop.errors.js';
import { ProofBytes } from './proof-bytes.reader.js';

const URL_ = 'https://api.example.com/agents/register';

describe('ProofBytes', () => {
  it('hands out one buffer again and again, grown only for a longer proof', () => {
    const bytes = new ProofBytes();
    const first = bytes.atLeast(100);
    expect(first.length).toBeGreaterThanOrEqual(8192);
    expect(bytes.atLeast(8192)).toBe(first);
    const grown = bytes.atLeast(20_000);
    expect(grown.length).toBe(20_000);
    expect(bytes.atLeast(100)).toBe(grown);
  });

  it('keeps no buffer over 64 KiB: a longer proof gets one of its own each time', () => {
    const bytes = new ProofBytes();
    const kept = bytes.atLeast(100);
    const huge = bytes.atLeast(70_000);
    expect(huge.length).toBe(70_000);
    expect(bytes.atLeast(70_000)).not.toBe(huge);
    expect(bytes.atLeast(100)).toBe(kept);
  });
});

/** The refusal `check` throws, or a failure when it accepts. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DPoPError);
    return (error as DPoPError).code;
  }
  throw new Error('expected a refusal, but the proof was accepted');
}

describe.each(ALGORITHMS)('DPoPProofVerifier reusing its proof buffer, %s', (alg) => {
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey(alg);
  });
  const check = (v: DPoPProofVerifier, proof: string) =>
    v.check({ proof, method: 'POST', url: URL_ });

  it('refuses a tampered proof right after its valid original, then accepts the original', async () => {
    const v = new DPoPProofVerifier(undefined);
    const proof = await makeProof(key, { htm: 'POST', htu: URL_ });
    check(v, proof);
    const last = proof.at(-2) === 'A' ? 'B' : 'A';
    // Same length, one signature character changed (not the last, whose spare bits may not count).
    const tampered = `${proof.slice(0, -2)}${last}${proof.at(-1)}`;
    expect(refusal(() => check(v, tampered))).toBe('ERR_DPOP_INVALID_SIGNATURE');
    // A shorter signature after a full one: the bytes left over from before must not count.
    expect(refusal(() => check(v, proof.slice(0, -4)))).toBe('ERR_DPOP_INVALID_SIGNATURE');
    const [h, , s] = proof.split('.');
    const otherPayload = `${h}.${Buffer.from(JSON.stringify(claimsFor('POST', URL_))).toString('base64url')}.${s}`;
    expect(refusal(() => check(v, otherPayload))).toBe('ERR_DPOP_INVALID_SIGNATURE');
    expect(check(v, proof).jkt).toBe(key.jkt);
  });

  it('verifies proofs of every length in turn: short, over 64 KiB (a buffer of its own), longer than the first buffer, short', async () => {
    const v = new DPoPProofVerifier(undefined, { maxProofLength: 200_000 });
    const header = { typ: 'dpop+jwt', alg, jwk: key.publicJwk };
    const padded = (length: number) =>
      signRaw(key, header, { ...claimsFor('POST', URL_), pad: 'p'.repeat(length) });
    for (const proof of [
      await makeProof(key, { htm: 'POST', htu: URL_ }),
      padded(70_000),
      padded(12_000),
      await makeProof(key, { htm: 'POST', htu: URL_ }),
    ]) {
      expect(check(v, proof).jkt).toBe(key.jkt);
      // One signature character changed, early in the segment.
      const at = proof.lastIndexOf('.') + 5;
      const forged = `${proof.slice(0, at)}${proof[at] === 'A' ? 'B' : 'A'}${proof.slice(at + 1)}`;
      expect(refusal(() => check(v, forged))).toBe('ERR_DPOP_INVALID_SIGNATURE');
    }
  });
});
