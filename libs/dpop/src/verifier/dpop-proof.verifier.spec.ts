import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  ALGORITHMS,
  ath,
  b64,
  claimsFor,
  makeKey,
  makeProof,
  signRaw,
  type TestAlgorithm,
  type TestKey,
} from '../testing/proofs.fixture.js';
import { DPoPProofVerifier, type DPoPVerifyInput } from './dpop-proof.verifier.js';
import { DPoPError, JtiStoreUnavailableError, type DPoPErrorCode } from '../errors/dpop.errors.js';
import { createDPoPExceptionFactory } from '../http/dpop.exception.js';
import { InMemoryJtiStore } from '../stores/in-memory-jti.store.js';
import { replayKey } from '../stores/replay-key.util.js';
import type { JtiStore } from '../stores/jti-store.interface.js';

const URL_ = 'https://api.example.com/agents/register';
const toException = createDPoPExceptionFactory({
  problemTypeBase: 'https://arcp.0x001.tech/docs/problems/',
  algorithms: ['EdDSA', 'ES256', 'RS256'],
});

const keys = {} as Record<TestAlgorithm, TestKey>;
beforeAll(async () => {
  for (const alg of ALGORITHMS) keys[alg] = await makeKey(alg);
});

function verifier(
  options: ConstructorParameters<typeof DPoPProofVerifier>[1] = {},
  store?: JtiStore,
) {
  return new DPoPProofVerifier(store ?? new InMemoryJtiStore(), options);
}

/** Runs a verification that must fail, and returns the error after checking its type and code. */
async function refused(
  promise: Promise<unknown>,
  code: DPoPErrorCode,
  problemType = 'dpop-invalid',
): Promise<DPoPError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the proof was accepted`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DPoPError);
  expect((error as DPoPError).code).toBe(code);
  // The problem body each code maps to is part of the contract too.
  const problem = toException(error as DPoPError, '/agents/register').problem;
  expect(problem.type).toBe(`https://arcp.0x001.tech/docs/problems/${problemType}`);
  expect(problem.code).toBe(code);
  expect(problem.detail).toBe((error as DPoPError).message);
  return error as DPoPError;
}

function input(proof: string, extra: Partial<DPoPVerifyInput> = {}): DPoPVerifyInput {
  return { proof, method: 'POST', url: URL_, ...extra };
}

describe.each(ALGORITHMS)('DPoPProofVerifier with %s', (alg) => {
  it('accepts a proof made by jose and returns its claims and RFC 7638 thumbprint', async () => {
    const key = keys[alg];
    const proof = await makeProof(key, { htm: 'POST', htu: URL_ });
    const result = await verifier().verify(input(proof));
    expect(result.jkt).toBe(key.jkt);
    expect(result.alg).toBe(alg);
    expect(result.htm).toBe('POST');
    expect(result.htu).toBe(URL_);
    expect(typeof result.jti).toBe('string');
  });

  it('accepts a proof for an access token when ath matches and the key matches cnf.jkt', async () => {
    const key = keys[alg];
    const token = 'eyJhbGciOiJFZERTQSJ9.eyJjbmYiOnsiamt0IjoieCJ9fQ.sig';
    const proof = await makeProof(key, { htm: 'POST', htu: URL_, accessToken: token });
    const result = await verifier().verify(
      input(proof, { accessToken: token, expectedJkt: key.jkt }),
    );
    expect(result.ath).toBe(ath(token));
  });

  it('refuses a proof whose signature was made by another key of the same type', async () => {
    const other = await makeKey(alg);
    const header = { typ: 'dpop+jwt', alg, jwk: keys[alg].publicJwk };
    const proof = signRaw(other, header, claimsFor('POST', URL_));
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_INVALID_SIGNATURE');
  });

  it('refuses a proof whose payload was changed after signing', async () => {
    const proof = await makeProof(keys[alg], { htm: 'POST', htu: URL_ });
    const [h, , s] = proof.split('.');
    const tampered = `${h}.${b64(claimsFor('POST', URL_))}.${s}`;
    await refused(verifier().verify(input(tampered)), 'ERR_DPOP_INVALID_SIGNATURE');
  });

  it('refuses the second use of a proof (replay), and a refused proof does not use up its jti', async () => {
    const v = verifier();
    const proof = await makeProof(keys[alg], { htm: 'POST', htu: URL_ });
    // A failing check first (wrong method): it must not record the jti.
    await refused(v.verify(input(proof, { method: 'GET' })), 'ERR_DPOP_HTM_MISMATCH');
    await v.verify(input(proof));
    const error = await refused(v.verify(input(proof)), 'ERR_DPOP_REPLAY');
    expect(error.message).toBe('DPoP jti already used (replay attack)');
  });
});

describe('DPoPProofVerifier: header and structure', () => {
  const key = () => keys.EdDSA;
  const header = () => ({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: key().publicJwk });

  it('refuses a missing proof with dpop-required', async () => {
    await refused(verifier().verify(input('')), 'ERR_DPOP_MISSING', 'dpop-required');
    await refused(
      verifier().verify({ proof: undefined, method: 'POST', url: URL_ }),
      'ERR_DPOP_MISSING',
      'dpop-required',
    );
  });

  it('refuses two DPoP headers, as an array or as Node joins them', async () => {
    const a = await makeProof(key(), { htm: 'POST', htu: URL_ });
    const b = await makeProof(key(), { htm: 'POST', htu: URL_ });
    await refused(verifier().verify(input(`${a}, ${b}`)), 'ERR_DPOP_MULTIPLE_HEADERS');
    await refused(
      verifier().verify({ proof: [a, b], method: 'POST', url: URL_ }),
      'ERR_DPOP_MULTIPLE_HEADERS',
    );
  });

  it('refuses an oversized proof before parsing it', async () => {
    const proof = signRaw(key(), header(), claimsFor('POST', URL_, { pad: 'x'.repeat(10_000) }));
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_TOO_LARGE');
    await refused(
      verifier({ maxProofLength: 100 }).verify(
        input(await makeProof(key(), { htm: 'POST', htu: URL_ })),
      ),
      'ERR_DPOP_TOO_LARGE',
    );
  });

  it.each([
    ['two segments', 'aaa.bbb'],
    ['four segments', 'aaa.bbb.ccc.ddd'],
    ['an empty segment', 'aaa..ccc'],
    ['characters outside base64url', 'aa+a.bbb.ccc'],
    ['padding', 'aaa=.bbb.ccc'],
    ['white space', 'aaa. bbb.ccc'],
  ])('refuses a proof with %s', async (_name, proof) => {
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_MALFORMED');
  });

  it('refuses a header that is not base64url JSON, or JSON that is not an object', async () => {
    const payload = b64(claimsFor('POST', URL_));
    for (const h of [b64('not json'), b64([1, 2]), b64('"string"'), b64('null')]) {
      await refused(verifier().verify(input(`${h}.${payload}.AAAA`)), 'ERR_DPOP_MALFORMED');
    }
  });

  it('refuses base64url that is not the canonical encoding (one proof, one spelling)', async () => {
    const proof = await makeProof(key(), { htm: 'POST', htu: URL_ });
    const [h, p, s] = proof.split('.');
    // Flip the unused low bits of the last signature character: same bytes, other spelling.
    const last = s!.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    const respelled = `${h}.${p}.${s!.slice(0, -1)}${twin}`;
    expect(Buffer.from(respelled.split('.')[2]!, 'base64url')).toEqual(
      Buffer.from(s!, 'base64url'),
    );
    await refused(verifier().verify(input(respelled)), 'ERR_DPOP_INVALID_SIGNATURE');
  });

  it('refuses a payload that is not a JSON object', async () => {
    for (const payload of ['[]', '"x"', '{"jti":', 'null']) {
      await refused(
        verifier().verify(input(signRaw(key(), header(), payload))),
        'ERR_DPOP_MALFORMED',
      );
    }
  });

  it.each([
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['secevent+jwt', 'secevent+jwt'],
    ['a number', 1],
    ['with a parameter', 'application/dpop+jwt; charset=utf-8'],
    ['another top-level type', 'text/dpop+jwt'],
    ['a trailing space', 'dpop+jwt '],
    ['a doubled prefix', 'application/application/dpop+jwt'],
  ])('refuses typ %s', async (_name, typ) => {
    const proof = signRaw(key(), { ...header(), typ }, claimsFor('POST', URL_));
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_INVALID_TYP');
  });

  it.each(['DPOP+JWT', 'DPoP+JWT', 'application/dpop+jwt', 'Application/DPoP+JWT'])(
    'accepts typ %s: the same media type (RFC 7515 §4.1.9, case-insensitive)',
    async (typ) => {
      const proof = signRaw(key(), { ...header(), typ }, claimsFor('POST', URL_));
      await expect(verifier().verify(input(proof))).resolves.toBeDefined();
    },
  );

  it.each([
    ['none', 'none'],
    ['HS256', 'HS256'],
    ['ES384', 'ES384'],
    ['PS256', 'PS256'],
    ['non-string', 42],
    ['missing', undefined],
  ])('refuses alg %s', async (_name, alg) => {
    const proof = signRaw(key(), { ...header(), alg }, claimsFor('POST', URL_));
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_UNSUPPORTED_ALG');
  });

  it('refuses alg none with an empty signature, as an attacker would send it', async () => {
    const proof = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: key().publicJwk })}.${b64(claimsFor('POST', URL_))}.`;
    // The trailing empty segment is already a structural failure.
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_MALFORMED');
  });

  it('refuses an algorithm that is supported but not allowed by the configuration', async () => {
    const proof = await makeProof(keys.RS256, { htm: 'POST', htu: URL_ });
    const error = await refused(
      verifier({ algorithms: ['EdDSA', 'ES256'] }).verify(input(proof)),
      'ERR_DPOP_UNSUPPORTED_ALG',
    );
    expect(error.message).toContain('EdDSA, ES256');
  });

  it('refuses HS256 signed with the JWK as the secret', async () => {
    const { createHmac } = await import('node:crypto');
    const h = b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: key().publicJwk });
    const p = b64(claimsFor('POST', URL_));
    const mac = createHmac('sha256', JSON.stringify(key().publicJwk))
      .update(`${h}.${p}`)
      .digest('base64url');
    await refused(verifier().verify(input(`${h}.${p}.${mac}`)), 'ERR_DPOP_UNSUPPORTED_ALG');
  });

  it('refuses a crit header parameter', async () => {
    const proof = signRaw(key(), { ...header(), crit: ['exp'] }, claimsFor('POST', URL_));
    await refused(verifier().verify(input(proof)), 'ERR_DPOP_MALFORMED');
  });
});

describe('DPoPProofVerifier: the embedded jwk', () => {
  const withJwk = (k: TestKey, jwk: unknown, alg: string = k.alg) =>
    signRaw(k, { typ: 'dpop+jwt', alg, jwk }, claimsFor('POST', URL_));

  it.each([
    ['missing', undefined],
    ['a string', 'key'],
    ['an array', []],
    ['null', null],
  ])('refuses a jwk that is %s', async (_name, jwk) => {
    await refused(verifier().verify(input(withJwk(keys.EdDSA, jwk))), 'ERR_DPOP_INVALID_JWK');
  });

  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])(
    'refuses a jwk with the private member %s',
    async (member) => {
      const jwk = { ...keys.ES256.publicJwk, [member]: 'AQAB' };
      const error = await refused(
        verifier().verify(input(withJwk(keys.ES256, jwk))),
        'ERR_DPOP_INVALID_JWK',
      );
      expect(error.message).toContain('private');
    },
  );

  it('refuses a symmetric (oct) jwk', async () => {
    const jwk = { kty: 'oct', k: 'c2VjcmV0' };
    await refused(verifier().verify(input(withJwk(keys.EdDSA, jwk))), 'ERR_DPOP_INVALID_JWK');
  });

  it('refuses a key of another type than the alg needs', async () => {
    // An EC key in the header of an EdDSA proof, and an OKP key under ES256.
    await refused(
      verifier().verify(input(withJwk(keys.EdDSA, keys.ES256.publicJwk))),
      'ERR_DPOP_INVALID_JWK',
    );
    await refused(
      verifier().verify(input(withJwk(keys.ES256, keys.EdDSA.publicJwk))),
      'ERR_DPOP_INVALID_JWK',
    );
    await refused(
      verifier().verify(input(withJwk(keys.RS256, keys.ES256.publicJwk))),
      'ERR_DPOP_INVALID_JWK',
    );
  });

  it('refuses the wrong curve, and a coordinate of the wrong length', async () => {
    await refused(
      verifier().verify(input(withJwk(keys.EdDSA, { ...keys.EdDSA.publicJwk, crv: 'Ed448' }))),
      'ERR_DPOP_INVALID_JWK',
    );
    await refused(
      verifier().verify(input(withJwk(keys.ES256, { ...keys.ES256.publicJwk, crv: 'P-384' }))),
      'ERR_DPOP_INVALID_JWK',
    );
    await refused(
      verifier().verify(input(withJwk(keys.EdDSA, { ...keys.EdDSA.publicJwk, x: 'AAAA' }))),
      'ERR_DPOP_INVALID_JWK',
    );
  });

  it('refuses an EC point that is not on the curve', async () => {
    const y = Buffer.from(keys.ES256.publicJwk.y!, 'base64url');
    y[31] = y[31]! ^ 1;
    const jwk = { ...keys.ES256.publicJwk, y: y.toString('base64url') };
    await refused(verifier().verify(input(withJwk(keys.ES256, jwk))), 'ERR_DPOP_INVALID_JWK');
  });

  it('refuses an RSA key under 2048 bits', async () => {
    const weak = await makeKey('RS256', 1024);
    const error = await refused(
      verifier().verify(
        input(
          signRaw(
            weak,
            { typ: 'dpop+jwt', alg: 'RS256', jwk: weak.publicJwk },
            claimsFor('POST', URL_),
          ),
        ),
      ),
      'ERR_DPOP_INVALID_JWK',
    );
    expect(error.message).toContain('2048');
  });

  it.each([
    ['e = 1', (n: string) => ({ kty: 'RSA', n, e: 'AQ' })],
    ['an even e', (n: string) => ({ kty: 'RSA', n, e: 'AQAA' })],
    ['e above 65537', (n: string) => ({ kty: 'RSA', n, e: '_____w' })],
    [
      'an even modulus',
      (n: string) => {
        const bytes = Buffer.from(n, 'base64url');
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! & 0xfe;
        return { kty: 'RSA', n: bytes.toString('base64url'), e: 'AQAB' };
      },
    ],
  ])('refuses an RSA key with %s', async (_name, jwkFor) => {
    const jwk = jwkFor(keys.RS256.publicJwk.n!);
    const error = await refused(
      verifier().verify(input(withJwk(keys.RS256, jwk))),
      'ERR_DPOP_INVALID_JWK',
    );
    expect(error.message).toContain('odd');
  });

  it('refuses a jwk whose own alg or use contradicts the header', async () => {
    await refused(
      verifier().verify(input(withJwk(keys.ES256, { ...keys.ES256.publicJwk, alg: 'ES384' }))),
      'ERR_DPOP_INVALID_JWK',
    );
    await refused(
      verifier().verify(input(withJwk(keys.ES256, { ...keys.ES256.publicJwk, use: 'enc' }))),
      'ERR_DPOP_INVALID_JWK',
    );
  });

  it('accepts extra public members (kid) and ignores them for the thumbprint', async () => {
    const jwk = { ...keys.ES256.publicJwk, kid: 'k1', use: 'sig', alg: 'ES256' };
    const result = await verifier().verify(input(withJwk(keys.ES256, jwk)));
    expect(result.jkt).toBe(keys.ES256.jkt);
    expect(result.jwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: keys.ES256.publicJwk.x,
      y: keys.ES256.publicJwk.y,
    });
  });

  it('does not let a cached key verify a proof signed by another key', async () => {
    const v = verifier();
    await v.verify(input(await makeProof(keys.EdDSA, { htm: 'POST', htu: URL_ })));
    const other = await makeKey('EdDSA');
    const forged = signRaw(
      other,
      { typ: 'dpop+jwt', alg: 'EdDSA', jwk: keys.EdDSA.publicJwk },
      claimsFor('POST', URL_),
    );
    await refused(v.verify(input(forged)), 'ERR_DPOP_INVALID_SIGNATURE');
  });

  it('keeps the key cache bounded', async () => {
    const v = verifier({ keyCacheSize: 2 });
    for (let i = 0; i < 4; i++) {
      const k = await makeKey('EdDSA');
      await v.verify(input(await makeProof(k, { htm: 'POST', htu: URL_ })));
    }
    expect((v as unknown as { headers: Map<string, unknown> }).headers.size).toBe(2);
  });
});

describe('DPoPProofVerifier: claims', () => {
  const key = () => keys.ES256;
  const header = () => ({ typ: 'dpop+jwt', alg: 'ES256', jwk: key().publicJwk });
  const withClaims = (claims: Record<string, unknown>) => signRaw(key(), header(), claims);

  it.each([
    ['jti missing', { jti: undefined }],
    ['jti empty', { jti: '' }],
    ['jti a number', { jti: 123 }],
    ['jti too long', { jti: 'x'.repeat(257) }],
    ['htm missing', { htm: undefined }],
    ['htm a number', { htm: 1 }],
    ['htu missing', { htu: undefined }],
    ['htu an object', { htu: { href: URL_ } }],
    ['iat missing', { iat: undefined }],
    ['iat a string', { iat: String(Math.floor(Date.now() / 1000)) }],
    ['iat null', { iat: null }],
    ['ath a number', { ath: 5 }],
    ['nonce an array', { nonce: ['n'] }],
  ])('refuses a proof with %s', async (_name, change) => {
    const claims = { ...claimsFor('POST', URL_), ...change };
    for (const [k, v] of Object.entries(change))
      if (v === undefined) delete (claims as Record<string, unknown>)[k];
    await refused(verifier().verify(input(withClaims(claims))), 'ERR_DPOP_INVALID_CLAIM');
  });

  it.each([
    ['lower case', 'post'],
    ['another method', 'GET'],
  ])('refuses htm in %s', async (_name, htm) => {
    const error = await refused(
      verifier().verify(input(withClaims(claimsFor(htm, URL_)))),
      'ERR_DPOP_HTM_MISMATCH',
    );
    expect(error.message).toBe('DPoP htm does not match request method');
  });

  it.each([
    ['another path', 'https://api.example.com/agents/other'],
    ['another host', 'https://evil.example.com/agents/register'],
    ['another scheme', 'http://api.example.com/agents/register'],
    ['another port', 'https://api.example.com:8443/agents/register'],
    ['a query with white space', `${URL_}?x= 1`],
    ['a query with a backslash', `${URL_}?x=\\1`],
    ['another path and a query', 'https://api.example.com/agents/other?x=1'],
    ['path case changed', 'https://api.example.com/Agents/register'],
    ['a trailing slash', `${URL_}/`],
    ['an encoded slash', 'https://api.example.com/agents%2Fregister'],
    ['user info', 'https://user@api.example.com/agents/register'],
    ['a relative URI', '/agents/register'],
    ['not a URI', 'not a uri'],
    ['another scheme entirely', 'ftp://api.example.com/agents/register'],
    ['no slashes after the scheme', 'https:api.example.com/agents/register'],
    ['one slash after the scheme', 'https:/api.example.com/agents/register'],
    ['a backslash', 'https://api.example.com\\agents/register'],
    ['surrounding white space', ' https://api.example.com/agents/register'],
    ['a trailing newline', 'https://api.example.com/agents/register\n'],
  ])('refuses htu with %s', async (_name, htu) => {
    const error = await refused(
      verifier().verify(input(withClaims(claimsFor('POST', htu)))),
      'ERR_DPOP_HTU_MISMATCH',
    );
    expect(error.message).toBe('DPoP htu does not match request URI');
  });

  it.each([
    ['upper-case scheme and host', 'HTTPS://API.Example.COM/agents/register'],
    ['the default port', 'https://api.example.com:443/agents/register'],
    ['percent-encoded unreserved characters', 'https://api.example.com/%61gents/register'],
    ['dot segments', 'https://api.example.com/agents/x/../register'],
  ])('accepts htu that differs only by RFC 3986 normalisation: %s', async (_name, htu) => {
    await expect(
      verifier().verify(input(withClaims(claimsFor('POST', htu)))),
    ).resolves.toBeDefined();
  });

  it.each([
    ['a query', `${URL_}?x=1`],
    ['a fragment', `${URL_}#f`],
    ['an empty query', `${URL_}?`],
    ['a query and a fragment', `${URL_}?a=b&c=d#frag`],
  ])('ignores %s of htu (RFC 9449 §4.3 step 9)', async (_name, htu) => {
    await expect(
      verifier().verify(input(withClaims(claimsFor('POST', htu)))),
    ).resolves.toBeDefined();
    // Both sides: a query on htu and another on the request URL.
    await expect(
      verifier().verify(input(withClaims(claimsFor('POST', htu)), { url: `${URL_}?other=2` })),
    ).resolves.toBeDefined();
  });

  it('ignores the query of the request URL itself', async () => {
    await expect(
      verifier().verify(input(withClaims(claimsFor('POST', URL_)), { url: `${URL_}?page=2` })),
    ).resolves.toBeDefined();
  });

  it('refuses a proof older than proofTtl, and accepts one just inside it', async () => {
    const now = Date.now();
    const v = verifier({ proofTtl: 120, clock: () => now });
    const old = withClaims(claimsFor('POST', URL_, { iat: now / 1000 - 121 }));
    const error = await refused(v.verify(input(old)), 'ERR_DPOP_EXPIRED');
    expect(error.message).toBe('DPoP proof has expired');
    await expect(
      v.verify(input(withClaims(claimsFor('POST', URL_, { iat: now / 1000 - 119 })))),
    ).resolves.toBeDefined();
  });

  it('refuses a proof further ahead than clockSkew, and accepts one just inside it', async () => {
    const now = Date.now();
    const v = verifier({ clockSkew: 60, clock: () => now });
    await refused(
      v.verify(input(withClaims(claimsFor('POST', URL_, { iat: now / 1000 + 61 })))),
      'ERR_DPOP_IAT_IN_FUTURE',
    );
    await expect(
      v.verify(input(withClaims(claimsFor('POST', URL_, { iat: now / 1000 + 59 })))),
    ).resolves.toBeDefined();
  });

  it('refuses a proof without ath when an access token comes with the request', async () => {
    const proof = withClaims(claimsFor('POST', URL_));
    await refused(
      verifier().verify(input(proof, { accessToken: 'token-1' })),
      'ERR_DPOP_ATH_MISSING',
    );
  });

  it('refuses a proof whose ath hashes another token', async () => {
    const proof = withClaims(claimsFor('POST', URL_, { ath: ath('original-token') }));
    await refused(
      verifier().verify(input(proof, { accessToken: 'different-token' })),
      'ERR_DPOP_ATH_MISMATCH',
    );
  });

  it('refuses a proof from a key other than the token is bound to', async () => {
    const proof = withClaims(claimsFor('POST', URL_, { ath: ath('t') }));
    const error = await refused(
      verifier().verify(input(proof, { accessToken: 't', expectedJkt: keys.EdDSA.jkt })),
      'ERR_DPOP_BINDING_MISMATCH',
      'dpop-binding-mismatch',
    );
    expect(error.message).toBe('Token JKT does not match DPoP proof');
  });
});

describe('DPoPProofVerifier: the replay store', () => {
  it('records the replay key of (jkt, jti) for proofTtl + clockSkew', async () => {
    const calls: Array<[string, number]> = [];
    const store: JtiStore = {
      recordIfNew: async (key, ttlMs) => {
        calls.push([key, ttlMs]);
        return true;
      },
    };
    const proof = await makeProof(keys.EdDSA, { htm: 'POST', htu: URL_ });
    const result = await verifier({ proofTtl: 30, clockSkew: 5 }, store).verify(input(proof));
    // The window plus one second, so the jti outlives the last millisecond its proof is valid.
    expect(calls).toEqual([[replayKey(result.jkt, result.jti), 36_000]]);
    expect(calls[0]![0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("one client's jti never blocks another's: the same jti under two keys both pass", async () => {
    const v = verifier();
    const jti = 'predictable-jti-0001';
    const mine = signRaw(
      keys.EdDSA,
      { typ: 'dpop+jwt', alg: 'EdDSA', jwk: keys.EdDSA.publicJwk },
      { ...claimsFor('POST', URL_), jti },
    );
    const theirs = signRaw(
      keys.ES256,
      { typ: 'dpop+jwt', alg: 'ES256', jwk: keys.ES256.publicJwk },
      { ...claimsFor('POST', URL_), jti },
    );
    await expect(v.verify(input(theirs))).resolves.toBeDefined();
    await expect(v.verify(input(mine))).resolves.toMatchObject({ jti });
    await refused(v.verify(input(mine)), 'ERR_DPOP_REPLAY');
  });

  it('fails closed with ERR_DPOP_STORE_UNAVAILABLE when the store throws', async () => {
    const store: JtiStore = { recordIfNew: () => Promise.reject(new Error('ECONNREFUSED')) };
    const proof = await makeProof(keys.EdDSA, { htm: 'POST', htu: URL_ });
    const error = await refused(
      verifier({}, store).verify(input(proof)),
      'ERR_DPOP_STORE_UNAVAILABLE',
      'dpop-store-unavailable',
    );
    expect(toException(error).getStatus()).toBe(503);
  });

  it('passes a JtiStoreUnavailableError through unchanged', async () => {
    const store: JtiStore = {
      recordIfNew: () => Promise.reject(new JtiStoreUnavailableError('full')),
    };
    const proof = await makeProof(keys.EdDSA, { htm: 'POST', htu: URL_ });
    const error = await refused(
      verifier({}, store).verify(input(proof)),
      'ERR_DPOP_STORE_UNAVAILABLE',
      'dpop-store-unavailable',
    );
    expect(error.message).toBe('full');
  });

  it('never calls the store for a proof that fails an earlier check', async () => {
    let called = 0;
    const store: JtiStore = { recordIfNew: async () => (++called, true) };
    const v = verifier({}, store);
    const proof = await makeProof(keys.EdDSA, { htm: 'POST', htu: URL_ });
    await refused(v.verify(input(proof, { method: 'PUT' })), 'ERR_DPOP_HTM_MISMATCH');
    await refused(v.verify(input(proof.slice(0, -4) + 'AAAA')), 'ERR_DPOP_INVALID_SIGNATURE');
    expect(called).toBe(0);
  });
});

describe('DPoPProofVerifier: configuration', () => {
  it('refuses unsupported or empty algorithm lists at construction', () => {
    expect(() => new DPoPProofVerifier(undefined, { algorithms: [] })).toThrow(/at least one/);
    expect(() => new DPoPProofVerifier(undefined, { algorithms: ['HS256' as never] })).toThrow(
      /HS256/,
    );
  });

  it('refuses every proof when no store is configured, rather than skipping the replay check', async () => {
    const proof = await makeProof(keys.EdDSA, { htm: 'POST', htu: URL_ });
    await refused(
      new DPoPProofVerifier(undefined).verify(input(proof)),
      'ERR_DPOP_STORE_UNAVAILABLE',
      'dpop-store-unavailable',
    );
  });

  it('check() verifies without touching the store', () => {
    const key = keys.EdDSA;
    const proof = signRaw(
      key,
      { typ: 'dpop+jwt', alg: 'EdDSA', jwk: key.publicJwk },
      { jti: randomUUID(), htm: 'GET', htu: URL_, iat: Date.now() / 1000 },
    );
    const v = new DPoPProofVerifier(undefined);
    expect(v.check(input(proof, { method: 'GET' })).jkt).toBe(key.jkt);
    expect(v.check(input(proof, { method: 'GET' })).jkt).toBe(key.jkt);
  });

  it('accepts RSA keys larger than 2048 bits (3072)', async () => {
    const key = await makeKey('RS256', 3072);
    const result = await verifier().verify(input(await makeProof(key, { htm: 'POST', htu: URL_ })));
    expect(result.jkt).toBe(key.jkt);
  });
});
