import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import Provider from 'oidc-provider';

/** A client of the authorization server. */
export interface OidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * panva's oidc-provider as a real authorization server on loopback: client credentials with
 * DPoP (nonces required), resource indicators (RFC 8707) and RFC 7662 introspection. Tokens for
 * `jwtClient` are JWTs (RFC 9068) signed with `signingKey`; those for `opaqueClient` are opaque.
 */
export class OidcIssuer {
  readonly jwtClient: OidcClient = { clientId: 'mcp-agent', clientSecret: secret() };
  readonly opaqueClient: OidcClient = { clientId: 'mcp-agent-opaque', clientSecret: secret() };
  /** The resource server's own client, for introspection. */
  readonly introspectionClient: OidcClient = { clientId: 'mcp-server', clientSecret: secret() };
  /** The signing key of access tokens (private, so tests can sign expired or odd tokens). */
  signingKey!: { privateKey: CryptoKey; kid: string; publicJwk: JWK };
  private server!: Server;
  private port = 0;

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server; `resources` are the resource indicators it issues tokens for. */
  async start(resources: () => readonly string[]): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = 'as-key-1';
    this.signingKey = { privateKey, kid, publicJwk: { ...(await exportJWK(publicKey)), kid } };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
    this.server = createServer();
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    const client = (c: OidcClient, grant: boolean) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: grant ? ['client_credentials'] : [],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'mcp:tools',
    });
    const provider = new Provider(this.issuer, {
      clients: [
        client(this.jwtClient, true),
        client(this.opaqueClient, true),
        client(this.introspectionClient, false),
      ],
      jwks: { keys: [privateJwk] },
      scopes: ['mcp:tools'],
      enabledJWA: { dPoPSigningAlgValues: ['ES256', 'EdDSA'] },
      ttl: { ClientCredentials: 300 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resources()[0],
          useGrantedResource: () => true,
          getResourceServerInfo: (
            _ctx: unknown,
            resource: string,
            client: { clientId: string },
          ) => {
            if (!resources().includes(resource)) throw new Error(`unknown resource ${resource}`);
            return {
              scope: 'mcp:tools',
              audience: resource,
              accessTokenTTL: 300,
              accessTokenFormat: client.clientId === this.opaqueClient.clientId ? 'opaque' : 'jwt',
              jwt: { sign: { alg: 'ES256', kid } },
            };
          },
        },
      },
    });
    this.server.on('request', provider.callback());
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}
