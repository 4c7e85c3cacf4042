import {
  createHash,
  generateKeyPairSync,
  randomUUID,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/** What {@link DPoPTestKey.proof} puts in a proof. */
export interface TestProofInput {
  /** `htm`, e.g. `GET`. */
  method: string;
  /** `htu`: the full URL of the request (query and fragment are dropped, as RFC 9449 asks). */
  url: string;
  /** The access token sent with the request: adds `ath` = base64url(SHA-256(token)). */
  accessToken?: string;
  /** A server nonce (RFC 9449 §8). */
  nonce?: string;
  /** `iat` in seconds since the epoch. Default: now. */
  iat?: number;
  /** `jti`. Default: a random UUID (so each proof is new to the replay store). */
  jti?: string;
  /** Extra or overriding header members, to build a bad proof on purpose (e.g. `{ typ: 'JWT' }`). */
  header?: Record<string, unknown>;
  /** Extra or overriding claims, to build a bad proof on purpose (e.g. `{ htm: 'POST' }`). */
  claims?: Record<string, unknown>;
}

/** The proof algorithms a test key can have. */
export type TestKeyAlgorithm = 'EdDSA' | 'ES256';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/**
 * A DPoP key for tests, on `node:crypto` alone: it makes proofs and tells its RFC 7638
 * thumbprint (what `@JKT()` gives and what a bound token's `cnf.jkt` holds).
 *
 * For real agents use the `nest-dpop-client` package (key files, nonce retry, an HTTP client).
 *
 * @example
 * ```ts
 * const key = DPoPTestKey.generate();
 * await request(app.getHttpServer())
 *   .get('/me')
 *   .set('DPoP', key.proof({ method: 'GET', url: `${baseUrl}/me` }))
 *   .expect(200, { jkt: key.jkt });
 * ```
 */
export class DPoPTestKey {
  /** The public JWK that every proof carries in its header. */
  readonly publicJwk: Readonly<JsonWebKey>;
  /** RFC 7638 SHA-256 thumbprint of the public key, base64url. */
  readonly jkt: string;

  private constructor(
    readonly alg: TestKeyAlgorithm,
    private readonly privateKey: KeyObject,
    publicKey: KeyObject,
  ) {
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicJwk = Object.freeze(
      alg === 'EdDSA'
        ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x }
        : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    );
    // RFC 7638 §3.2: the required members only, in lexicographic order, no spaces.
    const members =
      alg === 'EdDSA'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
    this.jkt = createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  }

  /** A new key pair: Ed25519 (`EdDSA`, the default) or P-256 (`ES256`). */
  static generate(alg: TestKeyAlgorithm = 'EdDSA'): DPoPTestKey {
    const { privateKey, publicKey } =
      alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return new DPoPTestKey(alg, privateKey, publicKey);
  }

  /** A signed DPoP proof (`typ: dpop+jwt`) for one request. */
  proof(input: TestProofInput): string {
    const url = new URL(input.url);
    const header = { typ: 'dpop+jwt', alg: this.alg, jwk: this.publicJwk, ...input.header };
    const claims = {
      jti: input.jti ?? randomUUID(),
      htm: input.method,
      htu: `${url.origin}${url.pathname}`,
      iat: input.iat ?? Math.floor(Date.now() / 1000),
      ...(input.accessToken !== undefined && {
        ath: createHash('sha256').update(input.accessToken).digest('base64url'),
      }),
      ...(input.nonce !== undefined && { nonce: input.nonce }),
      ...input.claims,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature =
      this.alg === 'EdDSA'
        ? sign(null, Buffer.from(signingInput), this.privateKey)
        : sign('sha256', Buffer.from(signingInput), {
            key: this.privateKey,
            dsaEncoding: 'ieee-p1363',
          });
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

/**
 * A JWT-shaped access token bound to `jkt` (`cnf.jkt`), **unsigned** (`alg: none`): enough for
 * the guard's default binding check, which reads `cnf.jkt` without verifying the token (your
 * app's own auth verifies it). Use it where no token verification runs, e.g. a test of a route
 * guarded by `DPoPGuard` alone; never accept such a token outside tests.
 */
export function unsignedBoundToken(jkt: string, claims: Record<string, unknown> = {}): string {
  const header = b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
  const payload = b64url(JSON.stringify({ sub: 'test', ...claims, cnf: { jkt } }));
  return `${header}.${payload}.`;
}
