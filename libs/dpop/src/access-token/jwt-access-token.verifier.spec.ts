import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { JwtAccessTokenVerifier } from './jwt-access-token.verifier.js';
import { resolveAccessTokenOptions } from './access-token-options.resolver.js';
import type { AccessTokenJwk, DPoPAccessTokenOptions } from './access-token-options.interface.js';
import { DPoPError } from '../errors/dpop.errors.js';

const AUDIENCE = 'https://api.example.com';
const ISSUER = 'https://as.example.com';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const now = () => Math.floor(Date.now() / 1000);

function verifier(options: Partial<DPoPAccessTokenOptions>): JwtAccessTokenVerifier {
  const resolved = resolveAccessTokenOptions({ audience: AUDIENCE, ...options }, Date.now);
  return new JwtAccessTokenVerifier(resolved.jwt, undefined);
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: DPoPError) => error.code,
  );

const { privateKey, publicKey } = await generateKeyPair('ES256');
const exported = await exportJWK(publicKey);
const jwk: AccessTokenJwk = { ...exported, kty: exported.kty ?? 'EC', kid: 'k1' };

describe('JwtAccessTokenVerifier', () => {
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt', ...header })
      .sign(privateKey);

  it('accepts a token signed by a local key, and refuses one whose payload was changed', async () => {
    const v = verifier({ issuer: ISSUER, keys: [jwk] });
    const token = await sign({ sub: 'alice' });
    await expect(v.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    const [h, , s] = token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60, sub: 'mallory' })).toString('base64url')}.${s}`;
    expect(await codeOf(v.verify(tampered))).toBe('ERR_DPOP_TOKEN_INVALID');
  });

  it('requires typ at+jwt only when asked', async () => {
    const plain = await sign({}, { typ: 'JWT' });
    expect(await codeOf(verifier({ keys: [jwk] }).verify(plain))).toBe('accepted');
    expect(await codeOf(verifier({ keys: [jwk], requireJwtType: true }).verify(plain))).toBe(
      'ERR_DPOP_TOKEN_INVALID',
    );
  });

  it('refuses crit headers and algorithms off the list', async () => {
    const v = verifier({ keys: [jwk], algorithms: ['EdDSA'] });
    expect(await codeOf(v.verify(await sign({})))).toBe('ERR_DPOP_TOKEN_INVALID');
    const crit = await new SignJWT({ aud: AUDIENCE, exp: now() + 60, b64: true })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', crit: ['exp'] })
      .sign(privateKey)
      .catch(() => undefined);
    if (crit !== undefined) {
      expect(await codeOf(verifier({ keys: [jwk] }).verify(crit))).toBe('ERR_DPOP_TOKEN_INVALID');
    }
  });

  it('accepts HS256 with the configured secret only', async () => {
    const hs = (secret: string) =>
      new SignJWT({ aud: AUDIENCE, exp: now() + 60 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(secret));
    const v = verifier({ secret: SECRET });
    expect(await codeOf(v.verify(await hs(SECRET)))).toBe('accepted');
    expect(await codeOf(v.verify(await hs(`${SECRET}x`)))).toBe('ERR_DPOP_TOKEN_INVALID');
    // Without a secret, HS256 is never on the list.
    expect(await codeOf(verifier({ keys: [jwk] }).verify(await hs(SECRET)))).toBe(
      'ERR_DPOP_TOKEN_INVALID',
    );
  });

  it('checks exp, nbf, iss and aud with the leeway', async () => {
    const v = verifier({ issuer: ISSUER, keys: [jwk], clockTolerance: 5 });
    expect(await codeOf(v.verify(await sign({ exp: now() - 3 })))).toBe('accepted');
    expect(await codeOf(v.verify(await sign({ exp: now() - 30 })))).toBe('ERR_DPOP_TOKEN_EXPIRED');
    expect(await codeOf(v.verify(await sign({ nbf: now() + 30 })))).toBe('ERR_DPOP_TOKEN_INVALID');
    expect(await codeOf(v.verify(await sign({ iss: 'https://evil.example' })))).toBe(
      'ERR_DPOP_TOKEN_INVALID',
    );
    expect(await codeOf(v.verify(await sign({ aud: ['https://other.example'] })))).toBe(
      'ERR_DPOP_TOKEN_INVALID',
    );
    expect(await codeOf(v.verify(await sign({ exp: undefined })))).toBe('ERR_DPOP_TOKEN_INVALID');
  });

  it("names claim 'aud' only for a genuine, current token meant for another audience", async () => {
    const v = verifier({ issuer: ISSUER, keys: [jwk] });
    const refusal = (token: string) =>
      v.verify(token).then(
        () => undefined,
        (error: unknown) => error as DPoPError,
      );
    const other = await refusal(await sign({ aud: 'https://other.example' }));
    expect(other).toBeInstanceOf(DPoPError);
    expect(other).toMatchObject({ code: 'ERR_DPOP_TOKEN_INVALID', claim: 'aud' });
    // Expired and for another audience: expired first (the token is no longer good anywhere).
    const stale = await refusal(await sign({ aud: 'https://other.example', exp: now() - 60 }));
    expect(stale).toMatchObject({ code: 'ERR_DPOP_TOKEN_EXPIRED' });
    expect(stale?.claim).toBeUndefined();
    // Another issuer, or a forged signature: no claim named, whatever the audience.
    const foreign = await refusal(await sign({ aud: 'https://other.example', iss: 'https://x' }));
    expect(foreign?.claim).toBeUndefined();
    const [h, p] = (await sign({ aud: 'https://other.example' })).split('.');
    const forged = await refusal(`${h}.${p}.${'A'.repeat(86)}`);
    expect(forged).toMatchObject({ code: 'ERR_DPOP_TOKEN_INVALID' });
    expect(forged?.claim).toBeUndefined();
  });
});

describe('AccessTokenVerifier with local keys and an issuer', () => {
  it('refuses a token of an unknown key (401) without asking the issuer for keys', async () => {
    // A real issuer that would answer metadata: it must not be asked.
    let asked = 0;
    const server = createServer((_req, res) => {
      asked += 1;
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const options = resolveAccessTokenOptions(
        { audience: AUDIENCE, issuer, keys: [jwk] },
        Date.now,
      );
      expect(options.discovery).toBe(false);
      const v = new AccessTokenVerifier(options);
      const other = await generateKeyPair('ES256');
      const token = await new SignJWT({ iss: issuer, aud: AUDIENCE, exp: now() + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
        .sign(other.privateKey);
      expect(await codeOf(v.verify(token))).toBe('ERR_DPOP_TOKEN_INVALID');
      const good = await new SignJWT({ iss: issuer, aud: AUDIENCE, exp: now() + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .sign(privateKey);
      expect(await codeOf(v.verify(good))).toBe('accepted');
      expect(asked).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
