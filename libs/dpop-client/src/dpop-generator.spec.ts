import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  verify,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DPoPProofVerifier, InMemoryJtiStore } from 'nest-dpop';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWK,
} from 'jose';
import { DPoPClientError } from './client.errors.js';
import { DPOP_CLIENT_ALGORITHMS, DPoPGenerator, htuOf, normalizeMethod } from './dpop-generator.js';

const URL_ = 'https://arcp.example.com/auth/agent/validate_compliance';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl';
const UNSUPPORTED = 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG';
const privateKeyOf = (type: 'ec' | 'rsa', options: object): KeyObject =>
  generateKeyPairSync(type as 'ec', options as { namedCurve: string }).privateKey;
const INVALID_REQUEST = 'ERR_DPOP_CLIENT_INVALID_REQUEST';

/** jose 6 has no Ed448: the same checks with node:crypto, on the proof's embedded key. */
function verifyEd448(proof: string): {
  payload: Record<string, unknown>;
  protectedHeader: { alg?: string; typ?: string; jwk?: JWK };
} {
  const [h, p, s] = proof.split('.') as [string, string, string];
  const protectedHeader = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  if (protectedHeader.typ !== 'dpop+jwt' || protectedHeader.alg !== 'Ed448') {
    throw new Error('not an Ed448 DPoP proof');
  }
  const key = createPublicKey({ key: protectedHeader.jwk, format: 'jwk' });
  if (!verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
    throw new Error('bad Ed448 signature');
  }
  return { payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')), protectedHeader };
}

/** Independent of the code under test: base64url(SHA-256(token)). */
function expectedAth(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function decodePayload(proof: string): Record<string, unknown> {
  const segment = proof.split('.')[1]!;
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe.each(DPOP_CLIENT_ALGORITHMS)('DPoPGenerator with %s', (alg) => {
  let generator: DPoPGenerator;

  beforeAll(async () => {
    generator = await DPoPGenerator.generate(alg);
  });

  it('makes proofs that the server-side DPoPProofVerifier accepts, with ath', async () => {
    const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), { algorithms: [alg] });
    const proof = generator.createProof({ method: 'POST', url: URL_, accessToken: TOKEN });
    const verified = await verifier.verify({
      proof,
      method: 'POST',
      url: URL_,
      accessToken: TOKEN,
      expectedJkt: generator.jkt,
    });
    expect(verified).toMatchObject({
      alg,
      jkt: generator.jkt,
      htm: 'POST',
      htu: URL_,
      ath: expectedAth(TOKEN),
    });
    // The same proof twice is a replay.
    await expect(
      verifier.verify({ proof, method: 'POST', url: URL_, accessToken: TOKEN }),
    ).rejects.toMatchObject({ code: 'ERR_DPOP_REPLAY' });
  });

  it('verifies independently with jose (Ed448: node:crypto): typ, alg, embedded JWK, claims, thumbprint', async () => {
    const before = Math.floor(Date.now() / 1000);
    const url = `${URL_}?page=2#top`;
    const proof = generator.createProof({ method: 'GET', url, accessToken: TOKEN });
    const { payload, protectedHeader } =
      alg === 'Ed448'
        ? verifyEd448(proof)
        : await jwtVerify(proof, EmbeddedJWK, {
            typ: 'dpop+jwt',
            algorithms: [alg],
          });
    expect(Object.keys(protectedHeader).sort()).toEqual(['alg', 'jwk', 'typ']);
    expect(protectedHeader.alg).toBe(alg);
    expect(protectedHeader.jwk).toEqual(generator.publicJwk);
    expect(protectedHeader.jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256')).toBe(generator.jkt);

    expect(Object.keys(payload).sort()).toEqual(['ath', 'htm', 'htu', 'iat', 'jti']);
    expect(payload.htm).toBe('GET');
    expect(payload.htu).toBe(URL_);
    expect(payload.ath).toBe(expectedAth(TOKEN));
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(typeof payload.jti).toBe('string');
    expect((payload.jti as string).length).toBeGreaterThanOrEqual(16);
  });

  it('gives every proof a fresh jti but one precomputed header', () => {
    const proofs = Array.from({ length: 200 }, () =>
      generator.createProof({ method: 'POST', url: URL_ }),
    );
    expect(new Set(proofs.map((p) => decodePayload(p).jti)).size).toBe(200);
    expect(new Set(proofs.map((p) => p.split('.')[0])).size).toBe(1);
    expect(Object.isFrozen(generator.publicJwk)).toBe(true);
    expect(decodeProtectedHeader(proofs[0]!).jwk).toEqual(generator.publicJwk);
  });

  it('has no ath without a token, and carries a nonce when given one', () => {
    const plain = decodePayload(generator.createProof({ method: 'POST', url: URL_ }));
    expect(plain).not.toHaveProperty('ath');
    expect(plain).not.toHaveProperty('nonce');
    const withNonce = decodePayload(
      generator.createProof({ method: 'POST', url: URL_, nonce: 'n-1.x~Y' }),
    );
    expect(withNonce.nonce).toBe('n-1.x~Y');
  });
});

describe('DPoPGenerator', () => {
  it('defaults to EdDSA (Ed25519)', async () => {
    const generator = await DPoPGenerator.generate();
    expect(generator.algorithm).toBe('EdDSA');
    expect(generator.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String) });
    expect(generator.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('takes iat from its clock', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const generator = new DPoPGenerator(privateKey, { clock: () => 1_706_630_400_999 });
    const proof = generator.createProof({ method: 'POST', url: URL_ });
    expect(decodePayload(proof).iat).toBe(1_706_630_400);
  });

  it('never shows the private key: JSON, inspect and strings carry only public parts', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = privateKey.export({ format: 'jwk' }).d!;
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const generator = DPoPGenerator.fromKey(jwk);
    const shown = [
      JSON.stringify(generator),
      inspect(generator),
      inspect(generator, { showHidden: true, depth: 10 }),
      String(generator),
      // oxlint-disable-next-line typescript/restrict-template-expressions -- what a careless log line does
      `${generator}`,
      JSON.stringify(Object.entries(generator)),
    ];
    for (const text of shown) {
      expect(text).not.toContain(d);
      expect(text).not.toContain('PRIVATE KEY');
    }
    expect(JSON.parse(JSON.stringify(generator))).toEqual({
      alg: 'ES256',
      jkt: generator.jkt,
      jwk: generator.publicJwk,
    });
    expect(inspect(generator)).toBe(`DPoPGenerator { alg: 'ES256', jkt: '${generator.jkt}' }`);
  });

  it('loads PEM and JWK private keys', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const fromPem = DPoPGenerator.fromKey(pem);
    const fromJwk = DPoPGenerator.fromKey(jwk);
    expect(fromPem.algorithm).toBe('RS256');
    expect(fromPem.jkt).toBe(fromJwk.jkt);
  });

  it.each([
    ['a secp256k1 key', () => privateKeyOf('ec', { namedCurve: 'secp256k1' }), UNSUPPORTED],
    ['an X25519 key', () => generateKeyPairSync('x25519').privateKey, UNSUPPORTED],
    ['an RSA-1024 key', () => privateKeyOf('rsa', { modulusLength: 1024 }), UNSUPPORTED],
    ['a public key', () => generateKeyPairSync('ed25519').publicKey, 'ERR_DPOP_CLIENT_INVALID_KEY'],
  ])('refuses %s', (_name, key, code) => {
    expect(() => new DPoPGenerator(key())).toThrow(expect.objectContaining({ code }));
  });

  it.each([
    ['an Ed25519 key', () => generateKeyPairSync('ed25519').privateKey, 'EdDSA', ['Ed25519']],
    ['an Ed448 key', () => generateKeyPairSync('ed448').privateKey, 'Ed448', []],
    ['a P-384 key', () => privateKeyOf('ec', { namedCurve: 'P-384' }), 'ES384', []],
    ['a P-521 key', () => privateKeyOf('ec', { namedCurve: 'P-521' }), 'ES512', []],
    [
      'an RSA key',
      () => privateKeyOf('rsa', { modulusLength: 2048 }),
      'RS256',
      ['RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    ],
  ] as const)(
    'names %s by its usual alg, or any other alg it suits',
    (_name, key, usual, others) => {
      const k = key();
      expect(new DPoPGenerator(k).algorithm).toBe(usual);
      for (const algorithm of others) {
        expect(new DPoPGenerator(k, { algorithm }).algorithm).toBe(algorithm);
      }
    },
  );

  it.each([
    ['ES384 for a P-256 key', () => privateKeyOf('ec', { namedCurve: 'P-256' }), 'ES384'],
    ['Ed448 for an Ed25519 key', () => generateKeyPairSync('ed25519').privateKey, 'Ed448'],
    ['EdDSA for an Ed448 key', () => generateKeyPairSync('ed448').privateKey, 'EdDSA'],
    ['PS256 for an EC key', () => privateKeyOf('ec', { namedCurve: 'P-256' }), 'PS256'],
    ['ES256 for an RSA key', () => privateKeyOf('rsa', { modulusLength: 2048 }), 'ES256'],
    ['HS256', () => generateKeyPairSync('ed25519').privateKey, 'HS256'],
  ])('refuses %s', (_name, key, algorithm) => {
    expect(() => new DPoPGenerator(key(), { algorithm: algorithm as never })).toThrow(
      expect.objectContaining({ code: UNSUPPORTED }),
    );
  });

  it('refuses an unknown algorithm and a non-key', async () => {
    await expect(DPoPGenerator.generate('HS256' as never)).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
    });
    expect(() => DPoPGenerator.fromKey('not a key')).toThrow(DPoPClientError);
    expect(() => DPoPGenerator.fromKey({ kty: 'oct', k: 'c2VjcmV0' })).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_INVALID_KEY' }),
    );
  });

  it('refuses a nonce that is not RFC 9449 syntax', async () => {
    const generator = await DPoPGenerator.generate();
    expect(() => generator.createProof({ method: 'GET', url: URL_, nonce: 'a"b' })).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_INVALID_REQUEST' }),
    );
  });
});

describe('htuOf', () => {
  it.each([
    ['https://arcp.example.com/auth/x?a=1&b=2#frag', 'https://arcp.example.com/auth/x'],
    ['HTTPS://ARCP.Example.COM:443/Auth/X', 'https://arcp.example.com/Auth/X'],
    ['http://localhost:3000', 'http://localhost:3000/'],
    ['http://127.0.0.1:80/a b', 'http://127.0.0.1/a%20b'],
    [new URL('http://[::1]:8080/p?q'), 'http://[::1]:8080/p'],
  ])('%s → %s', (url, htu) => {
    expect(htuOf(url)).toBe(htu);
  });

  it.each(['/relative', 'ftp://host/file', 'http://user:secret@host/', 'not a url'])(
    'refuses %s',
    (url) => {
      expect(() => htuOf(url)).toThrow(expect.objectContaining({ code: INVALID_REQUEST }));
    },
  );
});

describe('normalizeMethod', () => {
  it('upper-cases the methods fetch upper-cases, and keeps others as fetch sends them', () => {
    expect(normalizeMethod('post')).toBe('POST');
    expect(normalizeMethod('Get')).toBe('GET');
    expect(normalizeMethod('PATCH')).toBe('PATCH');
    expect(normalizeMethod('patch')).toBe('patch');
  });

  it('refuses what is not a method token', () => {
    const invalid = expect.objectContaining({ code: INVALID_REQUEST });
    expect(() => normalizeMethod('GE T')).toThrow(invalid);
    expect(() => normalizeMethod('')).toThrow(DPoPClientError);
  });
});
