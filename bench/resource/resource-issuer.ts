import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';

/** The issuer of the resource bench: an ES256 key, its JWK Set on loopback, tokens signed with node:crypto. */
export class BenchIssuer {
  readonly kid = 'bench-as-es256';
  private readonly pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly publicJwk = {
    ...(this.pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
    kid: this.kid,
    alg: 'ES256',
    use: 'sig',
  };
  private server!: Server;
  issuer = '';
  jwksUri = '';

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [this.publicJwk] }));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}/`;
    this.jwksUri = `http://127.0.0.1:${port}/jwks`;
  }

  stop(): void {
    this.server.close();
  }

  /** An RFC 9068 access token bound to `jkt`, about the size an authorization server makes. */
  token(jkt: string, audience: string): string {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input =
      b64({ alg: 'ES256', typ: 'at+jwt', kid: this.kid }) +
      '.' +
      b64({
        iss: this.issuer,
        sub: 'agent-7f3c2a91',
        aud: audience,
        client_id: 'bench-agent-client',
        scope: 'agents:register agents:read',
        iat: now,
        exp: now + 3600,
        jti: randomUUID(),
        cnf: { jkt },
      });
    const signature = sign('sha256', Buffer.from(input), {
      key: this.pair.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }
}
