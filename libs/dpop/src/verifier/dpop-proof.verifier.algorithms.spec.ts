import { beforeAll, describe, expect, it } from '@jest/globals';
import { constants, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import {
  ALL_ALGORITHMS,
  OPT_IN_ALGORITHMS,
  b64,
  claimsFor,
  makeKey,
  makeProof,
  signRaw,
  type TestAlgorithm,
  type TestKey,
} from '../testing/proofs.fixture.js';
import { DEFAULT_DPOP_ALGORITHMS, DPOP_ALGORITHM_SPECS } from './dpop-algorithms.table.js';
import { DPOP_DEFAULTS } from '../options/dpop.constants.js';
import { DPoPProofVerifier, type DPoPVerifyInput } from './dpop-proof.verifier.js';
import { DPoPError, type DPoPErrorCode } from '../errors/dpop.errors.js';
import { dpopOptionsFromEnv, resolveDPoPOptions } from '../options/dpop-options.resolver.js';

/** Every algorithm: positive and negative tests per key family (issue 10, item 1). */

const URL_ = 'https://api.example.com/agents/register';
const keys = {} as Record<TestAlgorithm, TestKey>;
beforeAll(async () => {
  for (const alg of ALL_ALGORITHMS) keys[alg] = await makeKey(alg);
});

const all = () => new DPoPProofVerifier(undefined, { algorithms: [...ALL_ALGORITHMS] });
const input = (proof: string): DPoPVerifyInput => ({ proof, method: 'POST', url: URL_ });
const header = (k: TestKey, extra: object = {}) => ({
  typ: 'dpop+jwt',
  alg: k.alg,
  jwk: k.publicJwk,
  ...extra,
});

function refused(run: () => unknown, code: DPoPErrorCode): DPoPError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DPoPError);
    expect((error as DPoPError).code).toBe(code);
    return error as DPoPError;
  }
  throw new Error(`expected ${code}, but the proof was accepted`);
}

function privateKeyOf(k: TestKey): KeyObject {
  return k.privateKey instanceof KeyObject ? k.privateKey : KeyObject.from(k.privateKey);
}

/** A proof whose signature is replaced by `signature(input)`. */
function withSignature(k: TestKey, signature: (input: Buffer, key: KeyObject) => Buffer): string {
  const signingInput = `${b64(header(k))}.${b64(claimsFor('POST', URL_))}`;
  const sig = signature(Buffer.from(signingInput), privateKeyOf(k));
  return `${signingInput}.${sig.toString('base64url')}`;
}

describe('defaults', () => {
  it('accepts EdDSA, Ed25519, ES256 and RS256 out of the box; the others are opt-in', () => {
    expect(DPOP_DEFAULTS.algorithms).toEqual(['EdDSA', 'Ed25519', 'ES256', 'RS256']);
    expect(resolveDPoPOptions({}).algorithms).toEqual([...DEFAULT_DPOP_ALGORITHMS]);
  });

  it('DPOP_ALGORITHMS takes any of them, EdDSA and Ed25519 together included', () => {
    expect(dpopOptionsFromEnv({ DPOP_ALGORITHMS: 'EdDSA,Ed25519' }).algorithms).toEqual([
      'EdDSA',
      'Ed25519',
    ]);
    expect(dpopOptionsFromEnv({ DPOP_ALGORITHMS: ALL_ALGORITHMS.join(',') }).algorithms).toEqual([
      ...ALL_ALGORITHMS,
    ]);
    expect(() => dpopOptionsFromEnv({ DPOP_ALGORITHMS: 'EdDSA,HS256' })).toThrow(
      /DPOP_ALGORITHMS: "HS256" is not a supported algorithm/,
    );
  });

  it.each(OPT_IN_ALGORITHMS)('refuses %s unless it is enabled', async (alg) => {
    const proof = await makeProof(keys[alg], { htm: 'POST', htu: URL_ });
    const v = new DPoPProofVerifier(undefined, {});
    refused(() => v.check(input(proof)), 'ERR_DPOP_UNSUPPORTED_ALG');
  });
});

describe.each(ALL_ALGORITHMS)('%s, once enabled', (alg) => {
  const spec = DPOP_ALGORITHM_SPECS[alg];

  it('accepts a valid proof and returns the RFC 7638 thumbprint of its key', async () => {
    const k = keys[alg];
    const proof = await makeProof(k, { htm: 'POST', htu: URL_ });
    const result = new DPoPProofVerifier(undefined, { algorithms: [alg] }).check(input(proof));
    expect(result).toMatchObject({ alg, jkt: k.jkt });
    // Twice: the second time from the prepared-key cache.
    expect(all().check(input(proof)).jkt).toBe(k.jkt);
  });

  it('refuses a key of another type', () => {
    const other = spec.kty === 'RSA' ? keys.ES256 : keys.RS256;
    const proof = signRaw(
      keys[alg],
      header(keys[alg], { jwk: other.publicJwk }),
      claimsFor('POST', URL_),
    );
    const error = refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
    expect(error.message).toContain(`kty must be ${spec.kty} for ${alg}`);
  });

  it('refuses a signature of the wrong length, and a flipped bit', () => {
    const k = keys[alg];
    const proof = signRaw(k, header(k), claimsFor('POST', URL_));
    const [h, p, s] = proof.split('.') as [string, string, string];
    const bytes = Buffer.from(s, 'base64url');
    const short = `${h}.${p}.${bytes.subarray(1).toString('base64url')}`;
    const long = `${h}.${p}.${Buffer.concat([bytes, Buffer.alloc(1)]).toString('base64url')}`;
    bytes[bytes.length >> 1]! ^= 1;
    const flipped = `${h}.${p}.${bytes.toString('base64url')}`;
    for (const bad of [short, long, flipped]) {
      refused(() => all().check(input(bad)), 'ERR_DPOP_INVALID_SIGNATURE');
    }
  });

  if (spec.kty !== 'RSA') {
    it(`refuses a key on another curve than ${spec.crv}`, () => {
      const k = keys[alg];
      const otherCrv =
        spec.kty === 'OKP'
          ? spec.crv === 'Ed25519'
            ? keys.Ed448
            : keys.Ed25519
          : spec.crv === 'P-256'
            ? keys.ES384
            : keys.ES256;
      // The other curve's real key, and this key with only its crv relabelled.
      for (const jwk of [otherCrv.publicJwk, { ...k.publicJwk, crv: otherCrv.publicJwk.crv }]) {
        const proof = signRaw(k, header(k, { jwk }), claimsFor('POST', URL_));
        const error = refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
        expect(error.message).toContain(`crv must be ${spec.crv} for ${alg}`);
      }
    });

    it('refuses a coordinate of the wrong length', () => {
      const k = keys[alg];
      const x = Buffer.concat([Buffer.from(k.publicJwk.x!, 'base64url'), Buffer.alloc(1)]);
      const proof = signRaw(
        k,
        header(k, { jwk: { ...k.publicJwk, x: x.toString('base64url') } }),
        claimsFor('POST', URL_),
      );
      const error = refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
      expect(error.message).toBe(
        `DPoP proof validation failed: jwk x must be ${spec.coordinateLength} bytes for ${spec.crv}`,
      );
    });
  }

  if (spec.kty === 'EC') {
    it('refuses a DER-encoded signature (JWS wants raw r‖s, RFC 7518 §3.4)', () => {
      const k = keys[alg];
      const proof = withSignature(k, (data, key) => sign(spec.hash, data, key));
      refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_SIGNATURE');
    });
  }

  if (spec.kty === 'RSA') {
    it('refuses an RSA key under 2048 bits', async () => {
      const weak = await makeKey(alg, 1536);
      const proof = signRaw(weak, header(weak), claimsFor('POST', URL_));
      const error = refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
      expect(error.message).toContain('2048 to 8192 bits');
    });

    it(`refuses a signature made with the other RSA padding than ${spec.padding}`, () => {
      const k = keys[alg];
      const proof = withSignature(k, (data, key) =>
        spec.padding === 'pss'
          ? sign(spec.hash, data, key)
          : sign(spec.hash, data, {
              key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: 32,
            }),
      );
      refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_SIGNATURE');
    });
  }

  if (spec.padding === 'pss') {
    it('refuses a PSS salt that is not the hash length (RFC 7518 §3.5)', () => {
      const k = keys[alg];
      for (const saltLength of [0, 20, 31]) {
        const proof = withSignature(k, (data, key) =>
          sign(spec.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
        );
        refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_SIGNATURE');
      }
    });
  }
});

describe('EdDSA and Ed25519: two names, one key type', () => {
  it('the same Ed25519 key signs under both names with one thumbprint', async () => {
    const k = keys.EdDSA;
    const asEd25519 = { ...k, alg: 'Ed25519' as const };
    const a = signRaw(k, header(k), claimsFor('POST', URL_));
    const b = signRaw(asEd25519, header(asEd25519), claimsFor('POST', URL_));
    const v = new DPoPProofVerifier(undefined, {});
    expect(v.check(input(a))).toMatchObject({ alg: 'EdDSA', jkt: k.jkt });
    expect(v.check(input(b))).toMatchObject({ alg: 'Ed25519', jkt: k.jkt });
  });

  it('EdDSA does not stand for Ed448 here: RFC 9864 names that one Ed448', () => {
    const k = { ...keys.Ed448, alg: 'EdDSA' as const };
    const proof = signRaw(keys.Ed448, header(k), claimsFor('POST', URL_));
    refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
  });
});

describe('non-canonical base64url in the jwk (one spelling per proof)', () => {
  it.each([
    ['padding', (x: string) => `${x}=`],
    [
      '+ and /',
      (x: string) => x.replace(/-/g, '+').replace(/_/g, '/') + (/[-_]/.test(x) ? '' : '+'),
    ],
    [
      'other unused low bits',
      (x: string) => {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        return x.slice(0, -1) + alphabet[alphabet.indexOf(x.at(-1)!) ^ 1];
      },
    ],
  ])('refuses x with %s, saying so', (_name, respell) => {
    const k = keys.EdDSA;
    const jwk = { ...k.publicJwk, x: respell(k.publicJwk.x!) };
    const proof = signRaw(k, header(k, { jwk }), claimsFor('POST', URL_));
    const error = refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
    expect(error.message).toBe(
      'DPoP proof validation failed: jwk x must be base64url without padding (RFC 7515 §2)',
    );
  });

  it('names the member: y of an EC key, n and e of an RSA key', () => {
    const ec = keys.ES256;
    const rsa = keys.RS256;
    const cases: Array<[TestKey, object, string]> = [
      [ec, { ...ec.publicJwk, y: `${ec.publicJwk.y}=` }, 'y'],
      [rsa, { ...rsa.publicJwk, n: `${rsa.publicJwk.n}==` }, 'n'],
      [rsa, { ...rsa.publicJwk, e: 'AQAB=' }, 'e'],
    ];
    for (const [k, jwk, member] of cases) {
      const proof = signRaw(k, header(k, { jwk }), claimsFor('POST', URL_));
      const error = refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
      expect(error.message).toBe(
        `DPoP proof validation failed: jwk ${member} must be base64url without padding (RFC 7515 §2)`,
      );
    }
  });
});

describe('generated keys of every kind node makes', () => {
  it('refuses keys no algorithm here takes (X25519, secp256k1)', () => {
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({
      format: 'jwk',
    });
    for (const [alg, jwk] of [
      ['Ed25519', x25519],
      ['ES256', k1],
    ] as const) {
      const k = { ...keys.ES256, alg } as TestKey;
      const proof = signRaw(keys[alg], header(k, { jwk }), claimsFor('POST', URL_));
      refused(() => all().check(input(proof)), 'ERR_DPOP_INVALID_JWK');
    }
  });
});

describe('non-canonical base64url in the JWS segments', () => {
  it('refuses padding in a segment, saying so', () => {
    const k = keys.ES256;
    const proof = signRaw(k, header(k), claimsFor('POST', URL_));
    const [h, p, s] = proof.split('.') as [string, string, string];
    const error = refused(() => all().check(input(`${h}.${p}.${s}=`)), 'ERR_DPOP_MALFORMED');
    expect(error.message).toMatch(/base64url without padding,? \(?RFC 7515 §2/);
  });

  it('refuses another spelling of the same header bytes, saying so', () => {
    const k = keys.ES256;
    // A header whose base64url ends in a character with unused low bits, respelled.
    let proof = '';
    let h = '';
    for (let pad = 0; pad < 3; pad++) {
      proof = signRaw(k, header(k, { x: 'y'.repeat(pad) }), claimsFor('POST', URL_));
      h = proof.split('.')[0]!;
      if (h.length % 4 !== 0) break;
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = h.slice(0, -1) + alphabet[alphabet.indexOf(h.at(-1)!) ^ 1];
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(h, 'base64url'));
    const error = refused(() => all().check(input(proof.replace(h, twin))), 'ERR_DPOP_MALFORMED');
    expect(error.message).toMatch(/base64url without padding,? \(?RFC 7515 §2/);
  });
});
