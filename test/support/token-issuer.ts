import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** One signing key of the issuer. */
export interface IssuerKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'EdDSA' | 'RS256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function issuerKey(kid: string, alg: IssuerKey['alg'] = 'ES256'): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

/**
 * A small real authorization server for the library's tests, over real HTTP on loopback: its
 * metadata (RFC 8414 at the path-inserted URL, or only OpenID discovery), a JWK Set, and an
 * RFC 7662 introspection endpoint with client_secret_basic. It counts requests, and can be
 * taken down (connections refused) to prove that the resource server answers 503.
 */
export class TestIssuer {
  readonly keys: IssuerKey[] = [];
  /** Opaque token → introspection response. */
  readonly opaque = new Map<string, Record<string, unknown>>();
  readonly hits = { metadata: 0, jwks: 0, introspection: 0 };
  /** Answer 500 on every endpoint (an issuer that is up but failing). */
  failing = false;
  /** Publish only OpenID discovery (no RFC 8414 document). */
  oidcOnly = false;
  readonly clientId = 'resource-server';
  readonly clientSecret = 'resource-server-secret';
  private server!: Server;
  private port = 0;

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening: requests to it are refused until {@link start} again on the same port. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async restart(): Promise<void> {
    await this.start(this.port);
  }

  /** A JWT access token signed by `key` (default: the first key) with these claims. */
  async token(
    claims: Record<string, unknown>,
    options: { key?: IssuerKey; typ?: string; kid?: string } = {},
  ): Promise<string> {
    const key = options.key ?? this.keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({
        alg: key.alg,
        typ: options.typ ?? 'at+jwt',
        kid: options.kid ?? key.kid,
      })
      .sign(key.privateKey);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.failing) return json(500, { error: 'server_error' });
    const metadata = {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/jwks`,
      introspection_endpoint: `${this.issuer}/introspect`,
      token_endpoint: `${this.issuer}/token`,
    };
    switch (req.url) {
      case '/.well-known/oauth-authorization-server':
        this.hits.metadata++;
        return this.oidcOnly ? json(404, { error: 'not_found' }) : json(200, metadata);
      case '/.well-known/openid-configuration':
        this.hits.metadata++;
        return json(200, metadata);
      case '/jwks':
        this.hits.jwks++;
        return json(200, { keys: this.keys.map((k) => k.publicJwk) });
      case '/introspect': {
        this.hits.introspection++;
        const expected =
          'Basic ' + Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64');
        let body = '';
        for await (const chunk of req) body += String(chunk);
        if (req.method !== 'POST' || req.headers.authorization !== expected) {
          return json(401, { error: 'invalid_client' });
        }
        const token = new URLSearchParams(body).get('token') ?? '';
        return json(200, this.opaque.get(token) ?? { active: false });
      }
      default:
        return json(404, { error: 'not_found' });
    }
  }
}
