import { beforeAll, describe, expect, it } from '@jest/globals';
import { makeKey, makeProof, signRaw, claimsFor, type TestKey } from '../testing/proofs.fixture.js';
import {
  DPoPError,
  JtiStoreNonceRequiredError,
  JtiStoreUnavailableError,
  TokenBindingUnavailableError,
  type DPoPClaim,
  type DPoPErrorCode,
} from './dpop.errors.js';
import { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';
import { DPoPNonceIssuer } from '../verifier/dpop-nonce.issuer.js';
import { InMemoryJtiStore } from '../stores/in-memory-jti.store.js';

describe('error classes report their own name', () => {
  it.each([
    [new DPoPError('ERR_DPOP_REPLAY', 'x'), 'DPoPError', 'ERR_DPOP_REPLAY'],
    [new JtiStoreUnavailableError(), 'JtiStoreUnavailableError', 'ERR_DPOP_STORE_UNAVAILABLE'],
    [new JtiStoreNonceRequiredError('n', 5), 'JtiStoreNonceRequiredError', 'ERR_DPOP_USE_NONCE'],
    [
      new TokenBindingUnavailableError(),
      'TokenBindingUnavailableError',
      'ERR_DPOP_TOKEN_BINDING_UNAVAILABLE',
    ],
  ])('%s', (error, name, code) => {
    expect(error).toBeInstanceOf(DPoPError);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
  });

  it('keeps the cause and the wait of an unavailable token binding', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new TokenBindingUnavailableError('down', { cause, retryAfter: 4 });
    expect({ cause: error.cause, retryAfter: error.retryAfter }).toEqual({ cause, retryAfter: 4 });
  });
});

describe('DPoPError.claim names the claim that failed', () => {
  const URL_ = 'https://api.example.com/items';
  let key: TestKey;
  let now: number;
  const nonces = new DPoPNonceIssuer({ secret: 'a-shared-secret-of-32-characters!' });
  beforeAll(async () => {
    key = await makeKey('ES256');
    now = Date.now();
  });

  const verifier = () =>
    new DPoPProofVerifier(new InMemoryJtiStore(), { clock: () => now, nonces });

  async function failure(
    proof: string,
    input: { method?: string; url?: string; accessToken?: string } = {},
    v = verifier(),
  ): Promise<{ code: DPoPErrorCode; claim: DPoPClaim | undefined }> {
    try {
      await v.verify({ proof, method: input.method ?? 'GET', url: input.url ?? URL_, ...input });
    } catch (error) {
      if (!(error instanceof DPoPError)) throw error;
      return { code: error.code, claim: error.claim };
    }
    throw new Error('the proof was accepted');
  }

  const withNonce = (extra: Record<string, unknown> = {}) => ({
    nonce: nonces.current(now),
    ...extra,
  });

  it.each<[string, Record<string, unknown>, DPoPErrorCode, DPoPClaim]>([
    ['an empty jti', { jti: '' }, 'ERR_DPOP_INVALID_CLAIM', 'jti'],
    ['a numeric htm', { htm: 1 }, 'ERR_DPOP_INVALID_CLAIM', 'htm'],
    ['a numeric htu', { htu: 1 }, 'ERR_DPOP_INVALID_CLAIM', 'htu'],
    ['a string iat', { iat: 'now' }, 'ERR_DPOP_INVALID_CLAIM', 'iat'],
    ['a numeric ath', { ath: 1 }, 'ERR_DPOP_INVALID_CLAIM', 'ath'],
    ['a numeric nonce', { nonce: 1 }, 'ERR_DPOP_INVALID_CLAIM', 'nonce'],
    ['another method', { htm: 'POST' }, 'ERR_DPOP_HTM_MISMATCH', 'htm'],
    ['another URL', { htu: 'https://api.example.com/other' }, 'ERR_DPOP_HTU_MISMATCH', 'htu'],
    ['an old iat', { iat: Math.floor(Date.now() / 1000) - 3600 }, 'ERR_DPOP_EXPIRED', 'iat'],
    [
      'a future iat',
      { iat: Math.floor(Date.now() / 1000) + 3600 },
      'ERR_DPOP_IAT_IN_FUTURE',
      'iat',
    ],
    ['no nonce', { nonce: undefined }, 'ERR_DPOP_USE_NONCE', 'nonce'],
  ])('%s', async (_name, claims, code, claim) => {
    const payload = claimsFor('GET', URL_, withNonce(claims));
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    const proof = signRaw(key, { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk }, payload);
    expect(await failure(proof)).toEqual({ code, claim });
  });

  it('ath: missing, then for another token', async () => {
    const missing = await makeProof(key, { htm: 'GET', htu: URL_, claims: withNonce() });
    expect(await failure(missing, { accessToken: 'token' })).toEqual({
      code: 'ERR_DPOP_ATH_MISSING',
      claim: 'ath',
    });
    const other = await makeProof(key, {
      htm: 'GET',
      htu: URL_,
      accessToken: 'another',
      claims: withNonce(),
    });
    expect(await failure(other, { accessToken: 'token' })).toEqual({
      code: 'ERR_DPOP_ATH_MISMATCH',
      claim: 'ath',
    });
  });

  it('jti on a replay; none for a bad signature', async () => {
    const v = verifier();
    const proof = await makeProof(key, { htm: 'GET', htu: URL_, claims: withNonce() });
    await v.verify({ proof, method: 'GET', url: URL_ });
    expect(await failure(proof, {}, v)).toEqual({ code: 'ERR_DPOP_REPLAY', claim: 'jti' });
    const forged = proof.slice(0, -4) + (proof.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(await failure(forged)).toEqual({
      code: 'ERR_DPOP_INVALID_SIGNATURE',
      claim: undefined,
    });
  });
});
