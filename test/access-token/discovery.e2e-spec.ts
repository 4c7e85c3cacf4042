import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DPoPTestKey } from 'nest-dpop/testing';
import { issuerKey, TestIssuer } from '../support/token-issuer.js';
import { freePort, startResourceServer } from './resource-server.app.js';

describe('issuer discovery and start-up checks', () => {
  const issuer = new TestIssuer();
  const agent = DPoPTestKey.generate();
  let app: INestApplication | undefined;

  beforeAll(async () => {
    issuer.oidcOnly = true;
    await issuer.start();
    issuer.keys.push(await issuerKey('k1', 'EdDSA'));
  });

  afterAll(async () => {
    await app?.close();
    await issuer.stop();
  });

  it('falls back to OpenID discovery when RFC 8414 metadata is not published', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    app = await startResourceServer(
      { publicUrl: base, accessToken: { issuer: issuer.issuer, audience: `${base}/api` } },
      'express',
      port,
    );
    const token = await issuer.token({ sub: 'u', aud: `${base}/api`, cnf: { jkt: agent.jkt } });
    const url = `${base}/api/me`;
    const response = await fetch(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: agent.proof({ method: 'GET', url, accessToken: token }),
      },
    });
    expect(response.status).toBe(200);
    // /.well-known/oauth-authorization-server (404), then /.well-known/openid-configuration.
    expect(issuer.hits.metadata).toBe(2);
    expect(issuer.hits.jwks).toBe(1);
  });

  it('refuses to start with @RequiredScopes() routes but no accessToken option', async () => {
    const port = await freePort();
    await expect(
      startResourceServer({ publicUrl: `http://127.0.0.1:${port}` }, 'fastify', port),
    ).rejects.toThrow(
      /RequiredScopes\(\) on ResourceController\.write needs verified access tokens/,
    );
  });
});
