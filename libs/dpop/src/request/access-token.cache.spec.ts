import { beforeAll, describe, expect, it } from '@jest/globals';
import { ath, b64, makeKey, makeProof, type TestKey } from '../testing/proofs.fixture.js';
import {
  AccessTokenCache,
  MAX_CACHED_TOKEN_LENGTH,
  accessTokenCache,
} from './access-token.cache.js';
import { accessTokenHash, jwtConfirmationJkt, parseAuthorization } from './access-token.util.js';
import { DPoPProofVerifier } from '../verifier/dpop-proof.verifier.js';
import { DPoPError } from '../errors/dpop.errors.js';

const URL_ = 'https://api.example.com/agents/register';

/** A JWT-shaped token: one header and signature, the payload as given (bound when `jkt`). */
function jwt(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'RS256', typ: 'at+jwt' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

/** `value` as a string object of its own, as each request's header parse yields. */
function fresh(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}

describe('AccessTokenCache', () => {
  it('finds an entry by the exact string, whichever string object carries it', () => {
    const cache = new AccessTokenCache({ maxEntries: 10, maxChars: 10_000 });
    const token = jwt({ sub: 'a' });
    cache.factsOf(token).ath = 'remembered';
    expect(cache.factsOf(fresh(token)).ath).toBe('remembered');
    expect(cache.size).toBe(1);
  });

  it('never confuses tokens that share a prefix, or where one is a prefix of the other', () => {
    const cache = new AccessTokenCache({ maxEntries: 10, maxChars: 10_000 });
    const base = 'x'.repeat(500);
    const tokens = [base + 'A', base + 'B', base, base + 'AA'];
    tokens.forEach((token, i) => (cache.factsOf(token).ath = `facts of ${i}`));
    // The newest entry first, then the others, in both orders.
    for (const order of [tokens, [...tokens].reverse()]) {
      for (const token of order) {
        expect(cache.factsOf(fresh(token)).ath).toBe(`facts of ${tokens.indexOf(token)}`);
      }
    }
    expect(cache.size).toBe(4);
  });

  it('never holds more entries than its cap, dropping the least recently used first', () => {
    const cache = new AccessTokenCache({ maxEntries: 3, maxChars: 10_000 });
    for (let i = 0; i < 20; i++) {
      cache.factsOf(`token-${i}`).ath = String(i);
      expect(cache.size).toBeLessThanOrEqual(3);
    }
    expect(cache.size).toBe(3);
    // token-17 is the oldest; using it again keeps it, so token-18 goes next.
    expect(cache.factsOf('token-17').ath).toBe('17');
    cache.factsOf('token-20');
    expect(cache.factsOf('token-17').ath).toBe('17');
    expect(cache.factsOf('token-19').ath).toBe('19');
    expect(cache.factsOf('token-18').ath).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it('never holds more token text than its budget', () => {
    const cache = new AccessTokenCache({ maxEntries: 1000, maxChars: 100 });
    for (let i = 0; i < 50; i++) {
      cache.factsOf(`${i}`.padStart(40, 't'));
      expect(cache.heldChars).toBeLessThanOrEqual(100);
    }
    expect(cache.size).toBe(2);
    expect(cache.heldChars).toBe(80);
    // One token over the whole budget is computed every time, never kept.
    const huge = 'h'.repeat(101);
    cache.factsOf(huge).ath = 'not kept';
    expect(cache.factsOf(huge).ath).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('keeps no token longer than V8 hashes by content, nor anything with a cap of 0', () => {
    const cache = new AccessTokenCache({ maxEntries: 10, maxChars: 10 * MAX_CACHED_TOKEN_LENGTH });
    const long = 'l'.repeat(MAX_CACHED_TOKEN_LENGTH + 1);
    cache.factsOf(long).ath = 'not kept';
    expect(cache.factsOf(long).ath).toBeUndefined();
    const longest = 'l'.repeat(MAX_CACHED_TOKEN_LENGTH);
    cache.factsOf(longest).ath = 'kept';
    expect(cache.factsOf(longest).ath).toBe('kept');

    const off = new AccessTokenCache({ maxEntries: 0, maxChars: 10_000 });
    off.factsOf('token').ath = 'not kept';
    expect(off.factsOf('token').ath).toBeUndefined();
    expect(off.size).toBe(0);
  });

  it('counts a token cut from a longer string (the header) by its own length', () => {
    const cache = new AccessTokenCache({ maxEntries: 10, maxChars: 10_000 });
    const header = `DPoP ${jwt({ sub: 'a' })}`;
    const token = header.slice(5);
    cache.factsOf(token).ath = 'remembered';
    expect(cache.factsOf(fresh(token)).ath).toBe('remembered');
    // The budget counts the token alone.
    expect(cache.heldChars).toBe(token.length);
  });
});

describe('the shared access-token cache behind jwtConfirmationJkt and ath', () => {
  let key: TestKey;
  let other: TestKey;
  beforeAll(async () => {
    key = await makeKey('EdDSA');
    other = await makeKey('EdDSA');
  });

  it('reads a changed binding afresh: a re-bound token is another string, never served stale', () => {
    const claims = { sub: 'agent-1', exp: 2_000_000_000 };
    const bound = jwt({ ...claims, cnf: { jkt: key.jkt } });
    const rebound = jwt({ ...claims, cnf: { jkt: other.jkt } });
    const unbound = jwt(claims);
    for (let round = 0; round < 2; round++) {
      expect(jwtConfirmationJkt(fresh(bound))).toBe(key.jkt);
      expect(jwtConfirmationJkt(fresh(rebound))).toBe(other.jkt);
      expect(jwtConfirmationJkt(fresh(unbound))).toBeUndefined();
      expect(jwtConfirmationJkt(fresh(bound))).toBe(key.jkt);
    }
  });

  it('hashes each token string of a shared prefix to its own ath, again and again', () => {
    const token = jwt({ sub: 'agent-1', cnf: { jkt: key.jkt } });
    const longer = `${token}x`;
    for (let round = 0; round < 2; round++) {
      expect(accessTokenHash(fresh(token))).toBe(ath(token));
      expect(accessTokenHash(fresh(longer))).toBe(ath(longer));
    }
    expect(ath(token)).not.toBe(ath(longer));
  });

  it('is what the verifier checks ath with, and a token one character longer still mismatches', async () => {
    const token = jwt({ sub: 'agent-of-the-verifier-test', cnf: { jkt: key.jkt } });
    const verifier = new DPoPProofVerifier(undefined);
    const check = async (accessToken: string) =>
      verifier.check({
        proof: await makeProof(key, { htm: 'POST', htu: URL_, accessToken: token }),
        method: 'POST',
        url: URL_,
        accessToken,
        expectedJkt: jwtConfirmationJkt(accessToken),
      });
    expect((await check(fresh(token))).ath).toBe(ath(token));
    expect(accessTokenCache.factsOf(token)).toEqual({ jkt: key.jkt, ath: ath(token) });
    // Same prefix, cached answer for the original right before: still refused.
    const error = await check(`${token}x`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DPoPError);
    expect((error as DPoPError).code).toBe('ERR_DPOP_ATH_MISMATCH');
  });

  it('skips the token68 check only for the newest token that passed it, never for another', () => {
    const token = jwt({ sub: 'agent-token68', cnf: { jkt: key.jkt } });
    // Not token68 (a space inside), yet the newest entry: the verifier's ath of any string
    // makes one. The header parser must still refuse it, every time.
    const spaced = `${token.slice(0, 20)} ${token.slice(20)}`;
    accessTokenHash(spaced);
    expect(accessTokenCache.newestFactsOf(spaced)).toBeDefined();
    for (let round = 0; round < 2; round++) {
      expect(() => parseAuthorization(`DPoP ${spaced}`)).toThrow(DPoPError);
    }
    const comma = `${token},x`;
    accessTokenHash(comma);
    expect(() => parseAuthorization(`DPoP ${comma}`)).toThrow(DPoPError);
    expect(accessTokenCache.newestFactsOf(comma)?.token68).toBeUndefined();
    // A token68 token: marked once it passed, and parsed the same from then on.
    accessTokenHash(token);
    expect(parseAuthorization(`DPoP ${fresh(token)}`)).toEqual({ scheme: 'DPoP', token });
    expect(accessTokenCache.newestFactsOf(token)?.token68).toBe(true);
    expect(parseAuthorization(`DPoP ${fresh(token)}`)).toEqual({ scheme: 'DPoP', token });
    // A longer token sharing its prefix is another string: checked in full, and refused.
    expect(() => parseAuthorization(`DPoP ${token}%`)).toThrow(DPoPError);
  });
});
