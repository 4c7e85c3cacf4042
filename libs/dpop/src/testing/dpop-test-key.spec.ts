import { describe, expect, it } from '@jest/globals';
import { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';
import { resolveDPoPOptions } from '../options/dpop-options.resolver.js';
import { jwtConfirmationJkt } from '../request/access-token.util.js';
import { DPoPError } from '../errors/dpop.errors.js';
import { InMemoryJtiStore } from '../stores/in-memory-jti.store.js';
import { DPoPTestKey, unsignedBoundToken } from './index.js';

const URL_ = 'https://api.example.com/me';

function verifier(): DPoPProofVerifier {
  return new DPoPProofVerifier(new InMemoryJtiStore(), resolveDPoPOptions());
}

describe('nest-dpop/testing DPoPTestKey', () => {
  it.each(['EdDSA', 'ES256'] as const)(
    'makes %s proofs the verifier accepts, with its thumbprint',
    async (alg) => {
      const key = DPoPTestKey.generate(alg);
      const token = unsignedBoundToken(key.jkt);
      const proof = key.proof({ method: 'GET', url: `${URL_}?q=1`, accessToken: token });
      const verified = await verifier().verify({
        proof,
        method: 'GET',
        url: URL_,
        accessToken: token,
        expectedJkt: key.jkt,
      });
      expect(verified.jkt).toBe(key.jkt);
    },
  );

  it('makes a new jti per proof, so a replay is the same proof sent twice', async () => {
    const key = DPoPTestKey.generate();
    const v = verifier();
    const proof = key.proof({ method: 'GET', url: URL_ });
    await v.verify({ proof, method: 'GET', url: URL_ });
    await expect(v.verify({ proof, method: 'GET', url: URL_ })).rejects.toMatchObject({
      code: 'ERR_DPOP_REPLAY',
    });
    await expect(
      v.verify({ proof: key.proof({ method: 'GET', url: URL_ }), method: 'GET', url: URL_ }),
    ).resolves.toBeDefined();
  });

  it('builds deliberately bad proofs that are refused with the right code', async () => {
    const key = DPoPTestKey.generate();
    const wrongTyp = key.proof({ method: 'GET', url: URL_, header: { typ: 'JWT' } });
    const error = await verifier()
      .verify({ proof: wrongTyp, method: 'GET', url: URL_ })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DPoPError);
    expect(error).toMatchObject({ code: 'ERR_DPOP_INVALID_TYP' });
    const wrongMethod = key.proof({ method: 'POST', url: URL_ });
    await expect(
      verifier().verify({ proof: wrongMethod, method: 'GET', url: URL_ }),
    ).rejects.toMatchObject({ code: 'ERR_DPOP_HTM_MISMATCH' });
  });

  it('gives a bound token whose cnf.jkt the default binding reader finds', () => {
    const key = DPoPTestKey.generate();
    expect(jwtConfirmationJkt(unsignedBoundToken(key.jkt, { sub: 'agent-1' }))).toBe(key.jkt);
  });
});
