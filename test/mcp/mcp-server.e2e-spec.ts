import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Client,
  ClientCredentialsProvider,
  DpopSession,
  StreamableHTTPClientTransport,
  type ClientCredentialsProviderOptions,
} from '@modelcontextprotocol/client';
import { decodeJwt, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { DPoPTestKey } from 'nest-dpop/testing';
import { McpServerModule } from '../../examples/mcp-server/mcp-server.module.js';
import { mcpServerConfig } from '../../examples/mcp-server/mcp-server.config.js';
import { OidcIssuer, type OidcClient } from '../support/oidc-issuer.js';
import { freePort } from '../access-token/resource-server.app.js';

// Issue 20 items 3 and 4: the MCP server example against real, independent parts: panva's
// oidc-provider as the authorization server (client credentials, DPoP with nonces, resource
// indicators, JWT and opaque tokens, introspection) and the official MCP client with a DPoP
// session; every attack by raw HTTP is a 401 with resource_metadata, never a 5xx.

/** The official client's client-credentials provider, with a DPoP session (SEP-1932). */
class DPoPClientCredentialsProvider extends ClientCredentialsProvider {
  constructor(
    options: ClientCredentialsProviderOptions & { expectedIssuer: string },
    private readonly session: Promise<DpopSession>,
  ) {
    super(options);
  }

  dpop(): Promise<DpopSession> {
    return this.session;
  }
}

const issuer = new OidcIssuer();
const servers: { app: INestApplication; resource: string }[] = [];
let otherResource = '';

async function startExample(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const config = mcpServerConfig({ PORT: String(port), MCP_RESOURCE: resource, ...env });
  const app = await NestFactory.create(McpServerModule.forConfig(config), {
    logger: false,
    abortOnError: false,
  });
  await app.listen(port, '127.0.0.1');
  servers.push({ app, resource });
  return resource;
}

let plain = '';
let nonces = '';

beforeAll(async () => {
  otherResource = `http://127.0.0.1:${await freePort()}/mcp`;
  await issuer.start(() => [...servers.map((s) => s.resource), otherResource]);
  const introspection = {
    OAUTH_INTROSPECTION_CLIENT_ID: issuer.introspectionClient.clientId,
    OAUTH_INTROSPECTION_CLIENT_SECRET: issuer.introspectionClient.clientSecret,
  };
  plain = await startExample({ OAUTH_ISSUER: issuer.issuer, ...introspection });
  nonces = await startExample({
    OAUTH_ISSUER: issuer.issuer,
    DPOP_NONCE_REQUIRED: 'true',
    ...introspection,
  });
});

afterAll(async () => {
  for (const { app } of servers) await app.close();
  await issuer.stop();
});

/** An MCP session of the official client: discovery, a DPoP-bound token, then MCP. */
async function mcpClient(resource: string, client: OidcClient, alg: 'ES256' | 'EdDSA') {
  const session = DpopSession.create({ alg });
  const provider = new DPoPClientCredentialsProvider(
    {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      expectedIssuer: issuer.issuer,
      scope: 'mcp:tools',
    },
    session,
  );
  const mcp = new Client({ name: 'nest-dpop-test', version: '1.0.0' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }),
  );
  return { mcp, session: await session, provider };
}

describe.each([
  ['JWT', 'plain', 'ES256'],
  ['JWT', 'plain', 'EdDSA'],
  ['opaque', 'plain', 'ES256'],
  ['JWT', 'nonces', 'EdDSA'],
  ['opaque', 'nonces', 'ES256'],
] as const)('the official MCP client, %s token, %s server, %s', (format, which, alg) => {
  it('discovers the issuer through the metadata, gets a bound token, lists tools, calls whoami', async () => {
    const resource = which === 'plain' ? plain : nonces;
    const client = format === 'JWT' ? issuer.jwtClient : issuer.opaqueClient;
    const { mcp, session, provider } = await mcpClient(resource, client, alg);
    try {
      const token = provider.tokens()?.access_token ?? '';
      expect(token).not.toBe('');
      expect(token.split('.').length).toBe(format === 'JWT' ? 3 : 1);
      const tools = await mcp.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual(['add', 'whoami']);
      const result = await mcp.callTool({ name: 'whoami', arguments: {} });
      const text = (result.content as { type: string; text: string }[])[0]!.text;
      expect(JSON.parse(text)).toMatchObject({
        jkt: session.thumbprint,
        client_id: client.clientId,
      });
      const sum = await mcp.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
      expect((sum.content as { text: string }[])[0]!.text).toBe('5');
    } finally {
      await mcp.close();
    }
  });
});

describe('the example server', () => {
  it('publishes its RFC 9728 metadata', async () => {
    const url = new URL('/.well-known/oauth-protected-resource/mcp', plain);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      resource: plain,
      authorization_servers: [issuer.issuer],
      dpop_bound_access_tokens_required: true,
      bearer_methods_supported: ['header'],
    });
  });
});

/** A DPoP-bound token straight from the authorization server's token endpoint. */
async function boundToken(key: DPoPTestKey, client: OidcClient, resource: string): Promise<string> {
  const tokenUrl = `${issuer.issuer}/token`;
  let nonce: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        authorization:
          'Basic ' + Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
        dpop: key.proof({ method: 'POST', url: tokenUrl, ...(nonce && { nonce }) }),
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'mcp:tools' }),
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (body.access_token !== undefined) return body.access_token;
    nonce = response.headers.get('dpop-nonce') ?? undefined;
    if (body.error !== 'use_dpop_nonce' || nonce === undefined) {
      throw new Error(`token request failed: ${JSON.stringify(body)}`);
    }
  }
  throw new Error('token request failed twice');
}

describe('refusals by raw HTTP (each a 401 naming the metadata, never a 5xx)', () => {
  const agent = DPoPTestKey.generate('ES256');
  const other = DPoPTestKey.generate('EdDSA');
  const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
  let token = '';

  beforeAll(async () => {
    token = await boundToken(agent, issuer.jwtClient, plain);
  });

  async function send(
    headers: Record<string, string>,
    options: { method?: string; url?: string } = {},
  ) {
    const response = await fetch(options.url ?? plain, {
      method: options.method ?? 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      ...((options.method ?? 'POST') === 'POST' && { body: list }),
    });
    const text = await response.text();
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    return { status: response.status, code, challenge: response.headers.get('www-authenticate') };
  }

  const proof = (
    key: DPoPTestKey,
    t: string,
    extra: Partial<Parameters<DPoPTestKey['proof']>[0]> = {},
  ) => key.proof({ method: 'POST', url: plain, accessToken: t, ...extra });

  const metadata = () =>
    `resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', plain).href}"`;

  function refused(
    result: { status: number; code: unknown; challenge: string | null },
    code: string,
  ) {
    expect({ status: result.status, code: result.code }).toEqual({ status: 401, code });
    expect(result.challenge).toContain(metadata());
  }

  it('accepts the well-formed request (the control)', async () => {
    const result = await send({ authorization: `DPoP ${token}`, dpop: proof(agent, token) });
    expect(result.status).toBe(200);
  });

  it('a replayed proof', async () => {
    const once = proof(agent, token);
    expect((await send({ authorization: `DPoP ${token}`, dpop: once })).status).toBe(200);
    refused(await send({ authorization: `DPoP ${token}`, dpop: once }), 'ERR_DPOP_REPLAY');
  });

  it('the token as Bearer', async () => {
    refused(
      await send({ authorization: `Bearer ${token}`, dpop: proof(agent, token) }),
      'ERR_DPOP_SCHEME_MISMATCH',
    );
  });

  it('a proof from another key', async () => {
    refused(
      await send({ authorization: `DPoP ${token}`, dpop: proof(other, token) }),
      'ERR_DPOP_BINDING_MISMATCH',
    );
  });

  it('another htu, another htm', async () => {
    refused(
      await send({
        authorization: `DPoP ${token}`,
        dpop: proof(agent, token, { url: `${plain}/elsewhere` }),
      }),
      'ERR_DPOP_HTU_MISMATCH',
    );
    refused(
      await send({ authorization: `DPoP ${token}`, dpop: proof(agent, token, { method: 'GET' }) }),
      'ERR_DPOP_HTM_MISMATCH',
    );
  });

  it('a wrong ath', async () => {
    refused(
      await send({ authorization: `DPoP ${token}`, dpop: proof(agent, `${token}x`) }),
      'ERR_DPOP_ATH_MISMATCH',
    );
  });

  it('a proof without the server nonce, where nonces are required (use_dpop_nonce)', async () => {
    const bound = await boundToken(agent, issuer.jwtClient, nonces);
    const response = await fetch(nonces, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `DPoP ${bound}`,
        dpop: agent.proof({ method: 'POST', url: nonces, accessToken: bound }),
      },
      body: list,
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
    expect(response.headers.get('dpop-nonce')).toBeTruthy();
  });

  it('no proof', async () => {
    refused(await send({ authorization: `DPoP ${token}` }), 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
  });

  it('no token at all (the challenge still names the metadata)', async () => {
    const result = await send({});
    expect(result.status).toBe(401);
    expect(result.challenge).toContain(metadata());
  });

  it('a token the issuer made for another audience', async () => {
    const foreign = await boundToken(agent, issuer.jwtClient, otherResource);
    expect(decodeJwt(foreign).aud).toBe(otherResource);
    refused(
      await send({ authorization: `DPoP ${foreign}`, dpop: proof(agent, foreign) }),
      'ERR_DPOP_TOKEN_INVALID',
    );
  });

  /** The real token's claims, re-signed as the test says. */
  async function resigned(
    claims: Record<string, unknown>,
    key: { privateKey: Parameters<SignJWT['sign']>[0] } = issuer.signingKey,
    alg = 'ES256',
  ): Promise<string> {
    return new SignJWT({ ...decodeJwt(token), ...claims })
      .setProtectedHeader({ alg, typ: 'at+jwt', kid: issuer.signingKey.kid })
      .sign(key.privateKey);
  }

  it('an expired token (signed by the issuer)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await resigned({ iat: now - 600, exp: now - 60 });
    refused(
      await send({ authorization: `DPoP ${expired}`, dpop: proof(agent, expired) }),
      'ERR_DPOP_TOKEN_EXPIRED',
    );
  });

  it("a forged token with the right cnf.jkt, signed by a key not in the issuer's JWK Set", async () => {
    const forger = await generateKeyPair('ES256');
    const forged = await resigned({ sub: 'admin' }, forger);
    refused(
      await send({ authorization: `DPoP ${forged}`, dpop: proof(agent, forged) }),
      'ERR_DPOP_TOKEN_INVALID',
    );
  });

  it('alg none', async () => {
    const none = new UnsecuredJWT(decodeJwt(token)).encode();
    refused(
      await send({ authorization: `DPoP ${none}`, dpop: proof(agent, none) }),
      'ERR_DPOP_TOKEN_INVALID',
    );
  });

  it('an opaque token the issuer does not know', async () => {
    const made = 'x'.repeat(43);
    refused(
      await send({ authorization: `DPoP ${made}`, dpop: proof(agent, made) }),
      'ERR_DPOP_TOKEN_INVALID',
    );
  });
});
