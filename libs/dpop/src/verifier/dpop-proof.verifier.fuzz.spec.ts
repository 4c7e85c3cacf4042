import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { EmbeddedJWK, jwtVerify } from 'jose';
import {
  ALGORITHMS,
  b64,
  claimsFor,
  makeKey,
  makeProof,
  signRaw,
  type TestAlgorithm,
  type TestKey,
} from '../testing/proofs.fixture.js';
import { DPoPProofVerifier } from './dpop-proof.verifier.js';
import { DPoPError } from '../errors/dpop.errors.js';

const URL_ = 'https://api.example.com/items';
const keys = {} as Record<TestAlgorithm, TestKey>;
const strangers = {} as Record<TestAlgorithm, TestKey>;
const valid: string[] = [];

beforeAll(async () => {
  for (const alg of ALGORITHMS) {
    keys[alg] = await makeKey(alg);
    strangers[alg] = await makeKey(alg);
    for (let i = 0; i < 4; i++) valid.push(await makeProof(keys[alg], { htm: 'POST', htu: URL_ }));
  }
});

/** Runs `check` and reports the outcome (`accepted` or the error code); anything thrown that is not a DPoPError fails the test. */
function outcome(verifier: DPoPProofVerifier, proof: string): string {
  try {
    verifier.check({ proof, method: 'POST', url: URL_ });
    return 'accepted';
  } catch (error) {
    if (!(error instanceof DPoPError)) throw error;
    return error.code;
  }
}

const REGISTERED_CLAIMS = new Set([
  'jti',
  'htm',
  'htu',
  'iat',
  'ath',
  'nonce',
  'exp',
  'nbf',
  'iss',
  'sub',
  'aud',
]);
const BASE64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ,';

/** One edit of a proof string: replace, insert or delete one character, or swap two segments. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    char: fc.constantFrom(...BASE64URL_CHARS),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    char: fc.constantFrom(...BASE64URL_CHARS),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(2), b: fc.nat(2) }),
);

/** The edit as a function of the proof. */
function pick(m: { kind: string; at?: number; char?: string; a?: number; b?: number }) {
  return (proof: string): string => {
    const at = (m.at ?? 0) % (proof.length + 1);
    switch (m.kind) {
      case 'replace':
        return proof.slice(0, at) + m.char + proof.slice(at + 1);
      case 'insert':
        return proof.slice(0, at) + m.char + proof.slice(at);
      case 'delete':
        return proof.slice(0, at) + proof.slice(at + 1);
      default: {
        const parts = proof.split('.');
        [parts[m.a!], parts[m.b!]] = [parts[m.b!]!, parts[m.a!]!];
        return parts.join('.');
      }
    }
  };
}

describe('DPoPProofVerifier under property-based fuzzing', () => {
  it('never accepts a proof changed in any way, and throws nothing but typed errors', () => {
    const verifier = new DPoPProofVerifier(undefined);
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (index, edits) => {
        const original = valid[index % valid.length]!;
        const changed = edits.reduce((p, m) => pick(m)(p), original);
        fc.pre(changed !== original);
        expect(outcome(verifier, changed)).not.toBe('accepted');
      }),
      { numRuns: 3000 },
    );
    // The originals themselves still pass: the property above is not vacuous.
    for (const proof of valid) expect(outcome(verifier, proof)).toBe('accepted');
  });

  it('answers arbitrary strings and arbitrary JSON segments with typed errors only', () => {
    const verifier = new DPoPProofVerifier(undefined);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(outcome(verifier, s)).not.toBe('accepted');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.base64String(), (header, payload, sig) => {
        const proof = `${b64(header)}.${b64(payload)}.${sig.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}`;
        expect(outcome(verifier, proof)).not.toBe('accepted');
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with jose on signature and structure for generated proofs (differential)', async () => {
    const verifier = new DPoPProofVerifier(undefined);
    const scenario = fc.record({
      alg: fc.constantFrom(...ALGORITHMS),
      typ: fc.constantFrom(
        'dpop+jwt',
        'dpop+jwt',
        'dpop+jwt',
        'JWT',
        'dpop+JWT',
        'application/dpop+jwt',
      ),
      signer: fc.constantFrom('owner', 'owner', 'stranger'),
      extraHeader: fc.dictionary(
        fc.constantFrom('kid', 'x5u', 'cty', 'b64'),
        fc.string({ maxLength: 8 }),
      ),
      // Extra private claims only: registered ones have type rules of their own on either side.
      extraClaims: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !REGISTERED_CLAIMS.has(k)),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      tamper: fc.constantFrom('none', 'none', 'none', 'payload', 'signature'),
    });
    const verdicts = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const owner = keys[s.alg];
        const signer = s.signer === 'owner' ? owner : strangers[s.alg];
        // Standard claims last, so generated extras never replace them.
        const header = { ...s.extraHeader, typ: s.typ, alg: s.alg, jwk: owner.publicJwk };
        let proof = signRaw(signer, header, { ...s.extraClaims, ...claimsFor('POST', URL_) });
        if (s.tamper !== 'none') {
          const parts = proof.split('.');
          if (s.tamper === 'payload')
            parts[1] = b64({ ...claimsFor('POST', URL_), tampered: true });
          else
            parts[2] =
              parts[2]!.slice(0, 10) + (parts[2]![10] === 'A' ? 'B' : 'A') + parts[2]!.slice(11);
          proof = parts.join('.');
        }
        const ours = outcome(verifier, proof) === 'accepted';
        const joseAccepts = await jwtVerify(proof, EmbeddedJWK, {
          typ: 'dpop+jwt',
          algorithms: [...ALGORITHMS],
        }).then(
          () => true,
          () => false,
        );
        // Both compare typ as a case-insensitive media type (RFC 7515 §4.1.9).
        const theirs = joseAccepts;
        expect({ scenario: s, ours }).toEqual({ scenario: s, ours: theirs });
        verdicts[ours ? 'accepted' : 'refused']++;
      }),
      { numRuns: 300 },
    );
    // Both verdicts occurred, so the agreement is not a vacuous one.
    expect(verdicts.accepted).toBeGreaterThan(20);
    expect(verdicts.refused).toBeGreaterThan(20);
  });
});
