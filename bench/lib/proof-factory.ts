import {
  constants,
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import type { DPoPAlgorithm } from 'nest-dpop';

/** What the bench needs to know of each algorithm to make keys and sign (RFC 7518 §3, RFC 8037). */
const ALGORITHMS: Readonly<
  Record<
    DPoPAlgorithm,
    {
      curve?: 'Ed25519' | 'Ed448' | 'P-256' | 'P-384' | 'P-521';
      hash: 'sha256' | 'sha384' | 'sha512' | null;
      pss?: true;
    }
  >
> = {
  EdDSA: { curve: 'Ed25519', hash: null },
  Ed25519: { curve: 'Ed25519', hash: null },
  Ed448: { curve: 'Ed448', hash: null },
  ES256: { curve: 'P-256', hash: 'sha256' },
  ES384: { curve: 'P-384', hash: 'sha384' },
  ES512: { curve: 'P-521', hash: 'sha512' },
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
};

/** Bytes of each digest: the RSA-PSS salt length (RFC 7518 §3.5). */
const HASH_LENGTHS = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** RFC 7638 §3.2: the required members of a public JWK, in lexicographic order, no white space. */
function thumbprintInput(jwk: Record<string, unknown>): string {
  const members =
    jwk.kty === 'RSA'
      ? ['e', 'kty', 'n']
      : jwk.kty === 'EC'
        ? ['crv', 'kty', 'x', 'y']
        : ['crv', 'kty', 'x'];
  return JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
}

/** The `key` argument of `crypto.sign`/`crypto.verify`: raw (r‖s) for EC, PSS options for PS*. */
export type CryptoKeyArg = KeyObject | SignKeyObjectInput;

/** One agent key: everything needed to mint proofs with it and to verify them at the floor. */
export interface BenchKey {
  readonly alg: DPoPAlgorithm;
  /** `crypto.sign`/`crypto.verify` digest (`null` for EdDSA, which hashes internally). */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  readonly signKey: CryptoKeyArg;
  /** The public key, imported once: what the floor contender verifies with. */
  readonly verifyKey: CryptoKeyArg;
  /** The public JWK, as a client puts it in the proof header. */
  readonly jwk: Record<string, unknown>;
  /** The protected header segment: the same for every proof of this key, as agents send it. */
  readonly headerSegment: string;
  /** RFC 7638 thumbprint of `jwk`: the `cnf.jkt` of an access token bound to this key. */
  readonly jkt: string;
}

/** The proof request a batch of proofs is minted for. */
export interface ProofTarget {
  readonly htm: string;
  readonly htu: string;
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A fresh key pair for `alg` (RSA 2048, the size most clients use). */
export function makeBenchKey(alg: DPoPAlgorithm): BenchKey {
  const spec = ALGORITHMS[alg];
  const curves = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const;
  const pair =
    spec.curve === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : spec.curve === 'Ed448'
        ? generateKeyPairSync('ed448')
        : spec.curve !== undefined
          ? generateKeyPairSync('ec', { namedCurve: curves[spec.curve] })
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const options =
    spec.curve?.startsWith('P-') === true
      ? { dsaEncoding: 'ieee-p1363' as const }
      : spec.pss === true
        ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LENGTHS[spec.hash!] }
        : undefined;
  return {
    alg,
    digest: spec.hash,
    signKey: options ? { key: pair.privateKey, ...options } : pair.privateKey,
    verifyKey: options ? { key: pair.publicKey, ...options } : pair.publicKey,
    jwk,
    headerSegment: base64urlJson({ typ: 'dpop+jwt', alg, jwk }),
    jkt: createHash('sha256').update(thumbprintInput(jwk)).digest('base64url'),
  };
}

/**
 * Mints `count` valid proofs for `target`, each with its own jti (a UUID, 36 characters), signed
 * with `node:crypto` directly: minting must be cheap, it happens before every timed run.
 * `tokenOf(i)`, when given, is the access token proof `i` goes with: the proof gets its `ath`.
 */
export function mintProofs(
  key: BenchKey,
  target: ProofTarget,
  count: number,
  tokenOf?: (index: number) => string,
): string[] {
  const iat = Math.floor(Date.now() / 1000);
  const proofs = Array.from<string>({ length: count });
  for (let i = 0; i < count; i++) {
    const claims = { jti: randomUUID(), htm: target.htm, htu: target.htu, iat };
    const token = tokenOf?.(i);
    const payload = base64urlJson(token === undefined ? claims : { ...claims, ath: ath(token) });
    const input = `${key.headerSegment}.${payload}`;
    const signature = sign(key.digest, Buffer.from(input, 'latin1'), key.signKey);
    proofs[i] = `${input}.${signature.toString('base64url')}`;
  }
  return proofs;
}

/** RFC 9449 §4.2 `ath`: base64url(SHA-256(token)). */
export function ath(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * A JWT access token bound to `jkt` (`cnf.jkt`), shaped like an authorization server's RS256
 * `at+jwt` (RFC 9068 claims, a 2048-bit signature's length): about 800 characters. The
 * signature is random bytes: the guard reads the binding without verifying the token (the
 * application's own auth does that), so nothing here checks it.
 */
export function mintAccessToken(jkt: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64urlJson({ alg: 'RS256', typ: 'at+jwt', kid: 'bench-as-2026-01' });
  const payload = base64urlJson({
    iss: 'https://as.bench.local',
    sub: 'agent-7f3c2a91',
    aud: 'https://bench.local',
    client_id: 'bench-agent-client',
    scope: 'agents:register agents:read',
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    cnf: { jkt },
  });
  return `${header}.${payload}.${randomBytes(256).toString('base64url')}`;
}
