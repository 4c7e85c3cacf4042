import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SignJWT, UnsecuredJWT } from 'jose';
import { DPoPTestKey } from 'nest-dpop/testing';
import { issuerKey, TestIssuer, type IssuerKey } from '../support/token-issuer.js';
import { freePort, startResourceServer } from './resource-server.app.js';

// Issue 20 item 1: access tokens verified by the library, with a real issuer over HTTP (its
// metadata, JWK Set and introspection endpoint) and real keys, on Express and on Fastify.

describe.each(['express', 'fastify'] as const)('verified access tokens (%s)', (platform) => {
  const issuer = new TestIssuer();
  const agent = DPoPTestKey.generate('ES256');
  const thief = DPoPTestKey.generate('EdDSA');
  let forger: IssuerKey;
  let app: INestApplication;
  let base: string;
  let resource: string;

  beforeAll(async () => {
    await issuer.start();
    issuer.keys.push(await issuerKey('k1'));
    forger = await issuerKey('k1');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    resource = `${base}/api`;
    app = await startResourceServer(
      {
        publicUrl: base,
        accessToken: {
          issuer: issuer.issuer,
          audience: resource,
          introspection: { clientId: issuer.clientId, clientSecret: issuer.clientSecret },
          jwksCooldown: 0,
        },
        protectedResource: {
          resource: '/api',
          authorization_servers: [issuer.issuer],
          scopes_supported: ['read', 'write'],
        },
      },
      platform,
      port,
    );
  });

  afterAll(async () => {
    await app?.close();
    await issuer.stop().catch(() => undefined);
  });

  async function call(
    path: string,
    token: string | undefined,
    key: DPoPTestKey | null = agent,
    scheme = 'DPoP',
  ) {
    const url = `${base}${path}`;
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `${scheme} ${token}`;
    if (key !== null) headers.dpop = key.proof({ method: 'GET', url, accessToken: token });
    const response = await fetch(url, { headers });
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
      challenge: response.headers.get('www-authenticate') ?? '',
      retryAfter: response.headers.get('retry-after'),
    };
  }

  const bound = (extra: Record<string, unknown> = {}) =>
    issuer.token({
      sub: 'user-1',
      client_id: 'agent',
      aud: resource,
      scope: 'read',
      cnf: { jkt: agent.jkt },
      ...extra,
    });

  it('accepts a bound JWT with its proof; the claims are on the request', async () => {
    const res = await call('/api/me', await bound());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ jkt: agent.jkt, sub: 'user-1', clientId: 'agent', format: 'jwt' });
  });

  it('verifies a reused token once: no refetch, same answer', async () => {
    const token = await bound();
    expect((await call('/api/me', token)).status).toBe(200);
    const hits = { ...issuer.hits };
    for (let i = 0; i < 3; i++) expect((await call('/api/me', token)).status).toBe(200);
    expect(issuer.hits).toEqual(hits);
  });

  it('refuses a forged token with the right cnf.jkt (signed by a key not in the JWK Set)', async () => {
    const forged = await issuer.token(
      { sub: 'user-1', aud: resource, cnf: { jkt: agent.jkt } },
      { key: forger },
    );
    const res = await call('/api/me', forged);
    expect(res.status).toBe(401);
    expect(res.body?.code).toBe('ERR_DPOP_TOKEN_INVALID');
    expect(res.challenge).toMatch(/^DPoP error="invalid_token"/);
    expect(res.challenge).toContain(
      `resource_metadata="${base}/.well-known/oauth-protected-resource/api"`,
    );
  });

  it('names the metadata in a Bearer challenge too, where plain Bearer tokens are accepted', async () => {
    const metadata = `resource_metadata="${base}/.well-known/oauth-protected-resource/api"`;
    const forged = await issuer.token({ sub: 'user-1', aud: resource }, { key: forger });
    // /api/open takes plain Bearer tokens: both challenges, the token's error in both.
    const open = await call('/api/open', forged, null, 'Bearer');
    expect([open.status, open.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    expect(open.challenge).toMatch(/^DPoP error="invalid_token", /);
    expect(open.challenge.endsWith(`, ${metadata}`)).toBe(true);
    const bearer = open.challenge.slice(open.challenge.indexOf(', Bearer ') + 2);
    expect(bearer).toMatch(
      new RegExp(`^Bearer error="invalid_token", error_description="[^"]+", ${metadata}$`),
    );
    // A bad proof there: its error is DPoP's alone; the Bearer challenge still names the metadata.
    const url = `${base}/api/open`;
    const response = await fetch(url, { headers: { dpop: agent.proof({ method: 'POST', url }) } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(
      new RegExp(`^DPoP error="invalid_dpop_proof", .*, Bearer ${metadata}$`),
    );
    // /api/me is @DPoPBound(): no Bearer token is accepted there, and no Bearer challenge offered.
    const me = await call('/api/me', forged, null, 'Bearer');
    expect(me.status).toBe(401);
    expect(me.challenge).toContain(metadata);
    expect(me.challenge).not.toContain('Bearer');
  });

  it('refuses a token for another audience', async () => {
    const res = await call('/api/me', await bound({ aud: 'https://other.example/api' }));
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
  });

  it('refuses a token of another issuer', async () => {
    const res = await call('/api/me', await bound({ iss: 'https://evil.example' }));
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
  });

  it('refuses an expired token, and one not yet valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await call('/api/me', await bound({ iat: now - 600, exp: now - 60 }));
    expect([expired.status, expired.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_EXPIRED']);
    const early = await call('/api/me', await bound({ nbf: now + 600 }));
    expect([early.status, early.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
  });

  it('refuses a token without exp', async () => {
    const key = issuer.keys[0]!;
    const token = await new SignJWT({ iss: issuer.issuer, aud: resource, cnf: { jkt: agent.jkt } })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .sign(key.privateKey);
    const res = await call('/api/me', token);
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
  });

  it('refuses a token whose kid is unknown (after one JWK Set refetch)', async () => {
    const stranger = await issuerKey('k-unknown');
    const before = issuer.hits.jwks;
    const res = await call(
      '/api/me',
      await issuer.token({ aud: resource, cnf: { jkt: agent.jkt } }, { key: stranger }),
    );
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    expect(issuer.hits.jwks).toBe(before + 1);
  });

  it('accepts a token of a new issuer key once the JWK Set has it (rotation)', async () => {
    const next = await issuerKey('k2', 'EdDSA');
    issuer.keys.push(next);
    const token = await issuer.token(
      { sub: 'user-2', aud: resource, cnf: { jkt: agent.jkt } },
      { key: next },
    );
    const res = await call('/api/me', token);
    expect(res.status).toBe(200);
    expect(res.body?.sub).toBe('user-2');
  });

  it('refuses alg none', async () => {
    const none = new UnsecuredJWT({
      iss: issuer.issuer,
      aud: resource,
      exp: Math.floor(Date.now() / 1000) + 60,
      cnf: { jkt: agent.jkt },
    }).encode();
    const res = await call('/api/me', none);
    expect(res.status).toBe(401);
    // Not a JWS with a signature: introspection is not asked either way.
    expect(['ERR_DPOP_TOKEN_INVALID']).toContain(res.body?.code);
  });

  it('refuses an HMAC token keyed with the public key (no secret configured)', async () => {
    const jwk = issuer.keys[0]!.publicJwk;
    const hmac = await new SignJWT({
      iss: issuer.issuer,
      aud: resource,
      exp: Math.floor(Date.now() / 1000) + 60,
      cnf: { jkt: agent.jkt },
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    const res = await call('/api/me', hmac);
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
  });

  it('refuses a valid token with a proof from another key', async () => {
    const res = await call('/api/me', await bound(), thief);
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_BINDING_MISMATCH']);
  });

  it('refuses a bound token sent as Bearer, and one without a proof', async () => {
    const token = await bound();
    const bearer = await call('/api/me', token, agent, 'Bearer');
    expect([bearer.status, bearer.body?.code]).toEqual([401, 'ERR_DPOP_SCHEME_MISMATCH']);
    const bare = await call('/api/me', token, null);
    expect([bare.status, bare.body?.code]).toEqual([401, 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF']);
  });

  it('answers 403 insufficient_scope with the RFC 6750 challenge', async () => {
    const res = await call('/api/write', await bound());
    expect([res.status, res.body?.code]).toEqual([403, 'ERR_DPOP_INSUFFICIENT_SCOPE']);
    expect(res.challenge).toMatch(/^DPoP error="insufficient_scope"/);
    expect(res.challenge).toContain('scope="write"');
    const ok = await call('/api/write', await bound({ scope: 'read write' }));
    expect(ok.status).toBe(200);
    expect(ok.body?.scopes).toEqual(['read', 'write']);
  });

  it('accepts an opaque bound token by introspection, and caches the answer', async () => {
    const token = `opaque-${platform}-${Date.now()}`;
    const exp = Math.floor(Date.now() / 1000) + 300;
    issuer.opaque.set(token, {
      active: true,
      sub: 'user-3',
      client_id: 'agent',
      aud: resource,
      iss: issuer.issuer,
      exp,
      scope: 'read',
      token_type: 'DPoP',
      cnf: { jkt: agent.jkt },
    });
    const before = issuer.hits.introspection;
    const res = await call('/api/me', token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'user-3', format: 'introspection' });
    expect((await call('/api/me', token)).status).toBe(200);
    expect(issuer.hits.introspection).toBe(before + 1);
  });

  it('refuses an inactive opaque token, one for another audience, and a refresh token', async () => {
    const inactive = await call('/api/me', `unknown-${platform}`);
    expect([inactive.status, inactive.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    const exp = Math.floor(Date.now() / 1000) + 300;
    issuer.opaque.set(`other-aud-${platform}`, {
      active: true,
      aud: 'https://other.example',
      exp,
      cnf: { jkt: agent.jkt },
    });
    const other = await call('/api/me', `other-aud-${platform}`);
    expect([other.status, other.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    issuer.opaque.set(`refresh-${platform}`, {
      active: true,
      aud: resource,
      exp,
      token_type: 'refresh_token',
      cnf: { jkt: agent.jkt },
    });
    const refresh = await call('/api/me', `refresh-${platform}`);
    expect([refresh.status, refresh.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
  });

  it('asks the introspection endpoint nothing for an opaque token without a good proof', async () => {
    // Anyone can send random opaque tokens: each would cost the authorization server one
    // introspection request. The proof is checked first (its signature, claims and ath), so an
    // unauthenticated flood reaches the issuer only as fast as the proof budget lets proofs in.
    const before = issuer.hits.introspection;
    const url = `${base}/api/me`;
    const refused = async (headers: Record<string, string>) => {
      const response = await fetch(url, { headers });
      return [response.status, ((await response.json()) as { code?: string }).code];
    };
    const token = `random-${platform}-${Date.now()}`;
    // The DPoP scheme without a proof.
    expect(await refused({ authorization: `DPoP ${token}-a` })).toEqual([
      401,
      'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
    ]);
    // A proof whose signature does not verify.
    const good = agent.proof({ method: 'GET', url, accessToken: `${token}-b` });
    const forged = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(await refused({ authorization: `DPoP ${token}-b`, dpop: forged })).toEqual([
      401,
      'ERR_DPOP_INVALID_SIGNATURE',
    ]);
    // A proof for another token (ath), another URL (htu) and another method (htm).
    const cases: [string, string][] = [
      [agent.proof({ method: 'GET', url, accessToken: 'another' }), 'ERR_DPOP_ATH_MISMATCH'],
      [
        agent.proof({ method: 'GET', url: `${base}/api/open`, accessToken: `${token}-c` }),
        'ERR_DPOP_HTU_MISMATCH',
      ],
      [agent.proof({ method: 'POST', url, accessToken: `${token}-c` }), 'ERR_DPOP_HTM_MISMATCH'],
    ];
    for (const [dpop, code] of cases) {
      expect(await refused({ authorization: `DPoP ${token}-c`, dpop })).toEqual([401, code]);
    }
    // A Bearer token without a proof on a route that needs a bound token.
    expect(await refused({ authorization: `Bearer ${token}-e` })).toEqual([
      401,
      'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
    ]);
    expect(issuer.hits.introspection).toBe(before);
    // With a good proof the token is introspected (and found inactive).
    const res = await call('/api/me', `${token}-d`);
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    expect(issuer.hits.introspection).toBe(before + 1);
  });

  it('verifies a token on an open route too, and refuses a bad one', async () => {
    const ok = await call('/api/open', await bound());
    expect(ok.body).toEqual({ sub: 'user-1' });
    const res = await call('/api/open', 'not-a-token');
    expect([res.status, res.body?.code]).toEqual([401, 'ERR_DPOP_TOKEN_INVALID']);
    expect((await call('/api/open', undefined, null)).body).toEqual({ sub: null });
  });

  it('publishes RFC 9728 metadata at the path-inserted well-known URL', async () => {
    const response = await fetch(`${base}/.well-known/oauth-protected-resource/api`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: `${base}/api`,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['read', 'write'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256', 'RS256'],
      dpop_bound_access_tokens_required: false,
    });
  });

  it('names the metadata in the challenge of a request without credentials', async () => {
    const res = await call('/api/me', undefined, null);
    expect(res.status).toBe(401);
    // RFC 9728 §5.1 and RFC 6750 §3.1: nothing was sent, so nothing was invalid: no error code.
    expect(res.challenge).toBe(
      'DPoP algs="EdDSA Ed25519 ES256 RS256", ' +
        `resource_metadata="${base}/.well-known/oauth-protected-resource/api"`,
    );
  });

  it('answers 503 with Retry-After when the issuer is down or failing, never a pass', async () => {
    issuer.failing = true;
    try {
      const failing = await call('/api/me', `opaque-new-${platform}`);
      expect(failing.status).toBe(503);
      expect(failing.body?.code).toBe('ERR_DPOP_ISSUER_UNAVAILABLE');
      expect(Number(failing.retryAfter)).toBeGreaterThanOrEqual(1);
      const stranger = await issuerKey('k-new');
      issuer.keys.push(stranger);
      const jwt = await call(
        '/api/me',
        await issuer.token({ aud: resource, cnf: { jkt: agent.jkt } }, { key: stranger }),
      );
      expect([jwt.status, jwt.body?.code]).toEqual([503, 'ERR_DPOP_ISSUER_UNAVAILABLE']);
    } finally {
      issuer.failing = false;
    }
    await issuer.stop();
    try {
      const down = await call('/api/me', `opaque-down-${platform}`);
      expect([down.status, down.body?.code]).toEqual([503, 'ERR_DPOP_ISSUER_UNAVAILABLE']);
      expect(down.retryAfter).not.toBeNull();
    } finally {
      await issuer.restart();
    }
  });
});
