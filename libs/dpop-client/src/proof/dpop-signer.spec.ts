import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DPoPProofVerifier, InMemoryJtiStore } from 'nest-dpop';
import { DPOP_CLIENT_ALGORITHMS, DPoPGenerator, type DPoPSigner } from './dpop-generator.js';
import { DPOP_ALGORITHM_SPECS, type DPoPAlgorithm } from './dpop-algorithms.table.js';
import { derToJose } from './ecdsa-signature.util.js';
import { sha256 } from './sha256.util.js';
import { spkiPem } from './spki.util.js';
import { keyObjectSigner } from '../keys/node-generator.js';

type CryptoKeyPair = import('node:crypto').webcrypto.CryptoKeyPair;
// An interface without an index signature, as the DOM's JsonWebKey is.
type JsonWebKey = import('node:crypto').webcrypto.JsonWebKey;

const URL_ = 'https://api.example.com/agents/a1/heartbeat';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhMSJ9.c2ln';
const INVALID_SIGNATURE = { code: 'ERR_DPOP_CLIENT_INVALID_SIGNATURE' };

/** The server library verifies: signature, htm, htu, ath, jkt. */
async function accepted(generator: DPoPGenerator): Promise<void> {
  const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), {
    algorithms: [generator.algorithm],
  });
  const proof = await generator.createProof({ method: 'POST', url: URL_, accessToken: TOKEN });
  await expect(
    verifier.verify({
      proof,
      method: 'POST',
      url: URL_,
      accessToken: TOKEN,
      expectedJkt: generator.jkt,
    }),
  ).resolves.toMatchObject({ alg: generator.algorithm, jkt: generator.jkt });
}

/** A node:crypto key pair for `alg`. */
function nodeKey(alg: DPoPAlgorithm): KeyObject {
  const spec = DPOP_ALGORITHM_SPECS[alg];
  if (spec.kty === 'RSA') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (spec.crv === 'Ed25519') return generateKeyPairSync('ed25519').privateKey;
  if (spec.crv === 'Ed448') return generateKeyPairSync('ed448').privateKey;
  return generateKeyPairSync('ec', { namedCurve: spec.crv! }).privateKey;
}

describe('sha256 (pure JavaScript)', () => {
  it('equals node:crypto on every padding boundary and on random inputs', () => {
    for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const data = new Uint8Array(length).map((_, i) => (i * 31 + 7) & 0xff);
      expect(Buffer.from(sha256(data)).toString('hex')).toBe(
        createHash('sha256').update(data).digest('hex'),
      );
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
        expect(Buffer.from(sha256(data)).toString('hex')).toBe(
          createHash('sha256').update(data).digest('hex'),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('spkiPem', () => {
  it.each(DPOP_CLIENT_ALGORITHMS)('writes the SPKI PEM node:crypto writes (%s)', async (alg) => {
    const key = nodeKey(alg);
    const generator = await DPoPGenerator.fromSigner(keyObjectSigner(key, { algorithm: alg }));
    expect(spkiPem(generator.publicJwk)).toBe(
      createPublicKey(key).export({ type: 'spki', format: 'pem' }),
    );
    expect(generator.publicKeyPem).toBe(spkiPem(generator.publicJwk));
  });
});

describe('DPoPGenerator.fromKeyPair: WebCrypto keys', () => {
  it.each(DPOP_CLIENT_ALGORITHMS)(
    '%s: a non-extractable key signs proofs the server accepts',
    async (alg) => {
      const generator = await DPoPGenerator.generate(alg);
      await accepted(generator);
    },
  );

  it('keeps the private key unreadable: extractable false, exportKey refused', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    expect(pair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', pair.privateKey)).rejects.toThrow();
    const generator = await DPoPGenerator.fromKeyPair(pair);
    expect(generator.algorithm).toBe('ES256');
    await accepted(generator);
  });

  it('takes the algorithm of an RSA key from its hash and padding', async () => {
    const pss = await crypto.subtle.generateKey(
      {
        name: 'RSA-PSS',
        hash: 'SHA-384',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
      false,
      ['sign', 'verify'],
    );
    const generator = await DPoPGenerator.fromKeyPair(pss);
    expect(generator.algorithm).toBe('PS384');
    await accepted(generator);
    await expect(DPoPGenerator.fromKeyPair(pss, { algorithm: 'RS384' })).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
    });
  });

  it('refuses a key without the sign usage, a small RSA key, a curve it does not know', async () => {
    const verifyOnly = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, [
      'verify',
      'sign',
    ])) as unknown as CryptoKeyPair;
    const publicOnly = { privateKey: verifyOnly.publicKey, publicKey: verifyOnly.publicKey };
    await expect(DPoPGenerator.fromKeyPair(publicOnly)).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_INVALID_KEY',
    });
    const small = await crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
      false,
      ['sign', 'verify'],
    );
    await expect(DPoPGenerator.fromKeyPair(small)).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG',
    });
    const ecdh = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, [
      'deriveBits',
    ]);
    await expect(DPoPGenerator.fromKeyPair(ecdh)).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_INVALID_KEY',
    });
  });
});

describe('DPoPGenerator.fromSigner: a key held elsewhere (KMS, HSM)', () => {
  /** A KMS-like signer: node:crypto with DER ECDSA signatures, as AWS and Google KMS return. */
  function derSigner(alg: 'ES256' | 'ES384' | 'ES512', key = nodeKey(alg)): DPoPSigner {
    const hash = DPOP_ALGORITHM_SPECS[alg].hash!;
    return {
      alg,
      publicJwk: createPublicKey(key).export({ format: 'jwk' }),
      signatureFormat: 'der',
      sign: async (input) => sign(hash, input, { key, dsaEncoding: 'der' }),
    };
  }

  it.each(['ES256', 'ES384', 'ES512'] as const)(
    '%s: DER signatures are converted to r||s, and the proofs verify',
    async (alg) => {
      const generator = await DPoPGenerator.fromSigner(derSigner(alg));
      for (let i = 0; i < 20; i++) await accepted(generator);
    },
  );

  it('refuses DER signatures from a signer that says nothing (raw is the default)', async () => {
    const signer = { ...derSigner('ES256'), signatureFormat: undefined };
    await expect(DPoPGenerator.fromSigner(signer)).rejects.toMatchObject(INVALID_SIGNATURE);
    // Without the probe, the first proof fails the same way, before anything is sent.
    const unchecked = await DPoPGenerator.fromSigner(signer, { verify: false });
    await expect(unchecked.createProof({ method: 'GET', url: URL_ })).rejects.toMatchObject(
      INVALID_SIGNATURE,
    );
  });

  it('refuses a signer whose key is not its public JWK (the probe)', async () => {
    const signer = { ...derSigner('ES256'), publicJwk: derSigner('ES256').publicJwk };
    await expect(DPoPGenerator.fromSigner(signer)).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_INVALID_KEY',
    });
  });

  it('takes a WebCrypto JsonWebKey as its publicJwk (typed), checked as strictly', async () => {
    const subtle = globalThis.crypto.subtle;
    const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    // The type a KMS recipe gets from exportKey: no index signature, unlike Record<string, …>.
    const publicJwk: JsonWebKey = await subtle.exportKey('jwk', pair.publicKey);
    const signer: DPoPSigner = {
      alg: 'ES256',
      publicJwk,
      sign: (input) =>
        subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, Uint8Array.from(input)),
    };
    await accepted(await DPoPGenerator.fromSigner(signer));
    const privateJwk: JsonWebKey = await subtle.exportKey('jwk', pair.privateKey);
    await expect(
      DPoPGenerator.fromSigner({ ...signer, publicJwk: privateJwk }),
    ).rejects.toMatchObject({ code: 'ERR_DPOP_CLIENT_INVALID_KEY' });
  });

  it('reports a failing signer as ERR_DPOP_CLIENT_SIGNER', async () => {
    const signer: DPoPSigner = {
      ...derSigner('ES256'),
      sign: () => Promise.reject(new Error('KMS: AccessDeniedException')),
    };
    await expect(DPoPGenerator.fromSigner(signer)).rejects.toMatchObject({
      code: 'ERR_DPOP_CLIENT_SIGNER',
      message: expect.stringContaining('AccessDeniedException'),
    });
  });

  it.each([
    ['an algorithm the key does not suit', { alg: 'ES384' }, 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG'],
    ['HS256', { alg: 'HS256' }, 'ERR_DPOP_CLIENT_UNSUPPORTED_ALG'],
    [
      'a private JWK',
      { publicJwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' } },
      'ERR_DPOP_CLIENT_INVALID_KEY',
    ],
    [
      'a JWK with a short x',
      { publicJwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } },
      'ERR_DPOP_CLIENT_INVALID_KEY',
    ],
    ['no sign function', { sign: undefined }, 'ERR_DPOP_CLIENT_INVALID_KEY'],
  ])('refuses %s', async (_name, change, code) => {
    const signer = { ...derSigner('ES256'), ...change } as unknown as DPoPSigner;
    await expect(DPoPGenerator.fromSigner(signer)).rejects.toMatchObject({ code });
  });
});

describe('derToJose', () => {
  it('gives r||s that verifies, whatever the lengths of r and s', () => {
    for (const [crv, size, hash] of [
      ['P-256', 32, 'sha256'],
      ['P-384', 48, 'sha384'],
      ['P-521', 66, 'sha512'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: crv });
      // Enough signatures that some have a short r or s (1 in 256 each).
      for (let i = 0; i < 600; i++) {
        const data = Buffer.from(`message ${i}`);
        const raw = derToJose(sign(hash, data, { key: privateKey, dsaEncoding: 'der' }), size);
        expect(raw.length).toBe(size * 2);
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      }
    }
  });

  const r = [0x02, 0x01, 0x05];
  it.each([
    ['a wrong tag', [0x31, 0x06, ...r, ...r]],
    ['a wrong length', [0x30, 0x07, ...r, ...r]],
    ['data after s', [0x30, 0x08, ...r, ...r, 0x00, 0x00]],
    ['a negative INTEGER', [0x30, 0x06, ...r, 0x02, 0x01, 0x85]],
    ['a non-minimal INTEGER', [0x30, 0x07, ...r, 0x02, 0x02, 0x00, 0x05]],
    [
      'an INTEGER longer than the curve',
      [0x30, 0x27, ...r, 0x02, 0x22, 0x01, ...Array.from({ length: 33 }, () => 1)],
    ],
    ['r = 0', [0x30, 0x06, 0x02, 0x01, 0x00, ...r]],
    ['a truncated INTEGER', [0x30, 0x06, ...r, 0x02, 0x05, 0x01]],
    ['nothing', []],
  ])('refuses %s', (_name, bytes) => {
    expect(() => derToJose(new Uint8Array(bytes), 32)).toThrow(
      expect.objectContaining(INVALID_SIGNATURE),
    );
  });
});
