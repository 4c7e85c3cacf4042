import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DPoPTestKey } from 'nest-dpop/testing';
import { issuerKey, TestIssuer } from '../support/token-issuer.js';
import { freePort, startResourceServer } from './resource-server.app.js';

// One server, two protected resources (RFC 9728 documents for /api and /tools), both in the
// audience list: a token issued for one resource (RFC 8707) is not accepted at the other, so a
// resource that receives a token cannot replay it against its neighbour.

describe.each(['express', 'fastify'] as const)('an audience per resource (%s)', (platform) => {
  const issuer = new TestIssuer();
  const agent = DPoPTestKey.generate('ES256');
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await issuer.start();
    issuer.keys.push(await issuerKey('k1'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await startResourceServer(
      {
        publicUrl: base,
        accessToken: {
          issuer: issuer.issuer,
          audience: [`${base}/api`, `${base}/tools`],
          introspection: { clientId: issuer.clientId, clientSecret: issuer.clientSecret },
        },
        protectedResource: [
          { resource: '/api', authorization_servers: [issuer.issuer] },
          { resource: '/tools', authorization_servers: [issuer.issuer] },
        ],
      },
      platform,
      port,
    );
  });

  afterAll(async () => {
    await app?.close();
    await issuer.stop().catch(() => undefined);
  });

  async function call(path: string, token: string) {
    const url = `${base}${path}`;
    const response = await fetch(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: agent.proof({ method: 'GET', url, accessToken: token }),
      },
    });
    const body = (await response.json()) as { code?: string };
    return [response.status, body.code, response.headers.get('www-authenticate') ?? ''] as const;
  }

  const jwtFor = (aud: string | string[]) =>
    issuer.token({ sub: 'user-1', aud, cnf: { jkt: agent.jkt } });

  it('accepts a token at the resource it was issued for', async () => {
    expect((await call('/api/me', await jwtFor(`${base}/api`)))[0]).toBe(200);
    expect((await call('/tools/me', await jwtFor(`${base}/tools`)))[0]).toBe(200);
  });

  it('refuses a JWT issued for the other resource, with that resource named', async () => {
    const token = await jwtFor(`${base}/api`);
    const [status, code, challenge] = await call('/tools/me', token);
    expect([status, code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(
      `resource_metadata="${base}/.well-known/oauth-protected-resource/tools"`,
    );
    // Verified and cached once, the token still works where it belongs.
    expect((await call('/api/me', token))[0]).toBe(200);
  });

  it('refuses it however the path is spelled for the router', async () => {
    // Express routes paths case-insensitively; Fastify decodes percent-encoded characters. The
    // resource is the route the router picked, not a prefix of the raw URL.
    const token = await jwtFor(`${base}/api`);
    const routed = platform === 'express' ? ['/TOOLS/me', '/Tools/me'] : ['/%74ools/me'];
    for (const path of routed) {
      expect([path, ...(await call(path, token)).slice(0, 2)]).toEqual([
        path,
        401,
        'ERR_DPOP_TOKEN_INVALID',
      ]);
    }
    for (const path of ['/TOOLS/me', '/%74ools/me', '/tools/me/', '/api/../tools/me']) {
      expect([path, (await call(path, token))[0]]).not.toEqual([path, 200]);
    }
  });

  it('refuses an opaque token issued for the other resource', async () => {
    const token = `opaque-aud-${platform}`;
    issuer.opaque.set(token, {
      active: true,
      aud: `${base}/tools`,
      exp: Math.floor(Date.now() / 1000) + 300,
      cnf: { jkt: agent.jkt },
    });
    expect((await call('/api/me', token)).slice(0, 2)).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    expect((await call('/tools/me', token))[0]).toBe(200);
  });

  it('accepts a token whose aud names both resources at either', async () => {
    const token = await jwtFor([`${base}/api`, `${base}/tools`]);
    expect((await call('/api/me', token))[0]).toBe(200);
    expect((await call('/tools/me', token))[0]).toBe(200);
  });
});
