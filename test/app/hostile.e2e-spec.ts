import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import request from 'supertest';
import {
  ath,
  b64,
  claimsFor,
  makeKey,
  makeProof,
  signRaw,
  type TestKey,
} from '../support/proofs.js';
import { newAgentId, PROBLEM, requestTempToken, validationBody } from './agent-client.js';
import { bootApp, PUBLIC_URL, type Harness } from './app-harness.js';

/**
 * The hostile-input catalogue: bad proofs and headers sent to the running app at a route that
 * takes a DPoP-bound temp token. Every one must be refused with the right problem type and code,
 * never a 5xx, never accepted.
 */
const PATH = '/auth/agent/validate_compliance';
const HTU = PUBLIC_URL + PATH;

interface Attack {
  /** The DPoP header(s) to send; `undefined` sends none. */
  dpop?: string | string[];
  /** The Authorization header; default `DPoP <the bound temp token>`. */
  authorization?: string;
  expect: { status: number; slug: string; code?: string };
}

let h: Harness;
let key: TestKey;
let thief: TestKey;
let weakRsa: TestKey;
let edKey: TestKey;
let token: string;
let agentId: string;

beforeAll(async () => {
  h = await bootApp();
  key = await makeKey('ES256');
  thief = await makeKey('ES256');
  edKey = await makeKey('EdDSA');
  weakRsa = await makeKey('RS256', 1024);
  agentId = newAgentId();
  token = await requestTempToken(h, agentId, key);
});
afterAll(async () => {
  await h?.close();
});

const header = (extra: Record<string, unknown> = {}, k: TestKey = key) => ({
  typ: 'dpop+jwt',
  alg: k.alg,
  jwk: k.publicJwk,
  ...extra,
});
const claims = (extra: Record<string, unknown> = {}) =>
  claimsFor('POST', HTU, { ath: ath(token), ...extra });
const withoutClaim = (name: string) => {
  const c = claims();
  delete c[name];
  return c;
};
const invalid = (code: string) => ({ status: 401, slug: 'dpop-invalid', code });

/** Each attack is made lazily, after the keys and the token exist. */
const catalogue: Array<[string, () => Promise<Attack> | Attack]> = [
  [
    'alg none, unsigned',
    () => ({
      dpop: `${b64(header({ alg: 'none' }))}.${b64(claims())}.`,
      expect: invalid('ERR_DPOP_MALFORMED'),
    }),
  ],
  [
    'alg none with a dummy signature',
    () => ({
      dpop: `${b64(header({ alg: 'none' }))}.${b64(claims())}.AAAA`,
      expect: invalid('ERR_DPOP_UNSUPPORTED_ALG'),
    }),
  ],
  [
    'HS256 using the JWK as the secret',
    () => {
      const input = `${b64(header({ alg: 'HS256' }))}.${b64(claims())}`;
      const mac = createHmac('sha256', JSON.stringify(key.publicJwk))
        .update(input)
        .digest('base64url');
      return { dpop: `${input}.${mac}`, expect: invalid('ERR_DPOP_UNSUPPORTED_ALG') };
    },
  ],
  [
    'HS512',
    () => ({
      dpop: signRaw(key, header({ alg: 'HS512' }), claims()),
      expect: invalid('ERR_DPOP_UNSUPPORTED_ALG'),
    }),
  ],
  [
    'an unsupported asymmetric alg (ES512)',
    () => ({
      dpop: signRaw(key, header({ alg: 'ES512' }), claims()),
      expect: invalid('ERR_DPOP_UNSUPPORTED_ALG'),
    }),
  ],
  [
    'a private key in jwk',
    () => ({
      dpop: signRaw(key, header({ jwk: { ...key.publicJwk, d: 'AAAA' } }), claims()),
      expect: invalid('ERR_DPOP_INVALID_JWK'),
    }),
  ],
  [
    'RSA 1024',
    () => ({
      dpop: signRaw(weakRsa, header({}, weakRsa), claims()),
      expect: invalid('ERR_DPOP_INVALID_JWK'),
    }),
  ],
  [
    'a symmetric jwk',
    () => ({
      dpop: signRaw(key, header({ jwk: { kty: 'oct', k: 'c2VjcmV0' } }), claims()),
      expect: invalid('ERR_DPOP_INVALID_JWK'),
    }),
  ],
  [
    'no jwk',
    () => ({
      dpop: signRaw(key, header({ jwk: undefined }), claims()),
      expect: invalid('ERR_DPOP_INVALID_JWK'),
    }),
  ],
  [
    'an Ed25519 jwk under ES256',
    () => ({
      dpop: signRaw(key, header({ jwk: edKey.publicJwk }), claims()),
      expect: invalid('ERR_DPOP_INVALID_JWK'),
    }),
  ],
  [
    'an EC point off the curve',
    () => {
      const y = Buffer.from(key.publicJwk.y!, 'base64url');
      y[0] = y[0]! ^ 0xff;
      return {
        dpop: signRaw(
          key,
          header({ jwk: { ...key.publicJwk, y: y.toString('base64url') } }),
          claims(),
        ),
        expect: invalid('ERR_DPOP_INVALID_JWK'),
      };
    },
  ],
  [
    'typ JWT',
    () => ({
      dpop: signRaw(key, header({ typ: 'JWT' }), claims()),
      expect: invalid('ERR_DPOP_INVALID_TYP'),
    }),
  ],
  [
    'typ missing',
    () => ({
      dpop: signRaw(key, header({ typ: undefined }), claims()),
      expect: invalid('ERR_DPOP_INVALID_TYP'),
    }),
  ],
  [
    'a crit header',
    () => ({
      dpop: signRaw(key, header({ crit: ['b64'], b64: false }), claims()),
      expect: invalid('ERR_DPOP_MALFORMED'),
    }),
  ],
  [
    'two segments',
    () => ({ dpop: `${b64(header())}.${b64(claims())}`, expect: invalid('ERR_DPOP_MALFORMED') }),
  ],
  [
    'four segments',
    async () => ({ dpop: `${await proof()}.AAAA`, expect: invalid('ERR_DPOP_MALFORMED') }),
  ],
  [
    'bad base64 characters',
    () => ({ dpop: 'ey*J.ey$J.s!g', expect: invalid('ERR_DPOP_MALFORMED') }),
  ],
  [
    'a header that is a JSON array',
    () => ({ dpop: `${b64([1, 2])}.${b64(claims())}.AAAA`, expect: invalid('ERR_DPOP_MALFORMED') }),
  ],
  [
    'a header that is not JSON',
    () => ({
      dpop: `${b64('{not json')}.${b64(claims())}.AAAA`,
      expect: invalid('ERR_DPOP_MALFORMED'),
    }),
  ],
  [
    'a payload that is a JSON string',
    () => ({ dpop: signRaw(key, header(), '"claims"'), expect: invalid('ERR_DPOP_MALFORMED') }),
  ],
  [
    'jti a number',
    () => ({
      dpop: signRaw(key, header(), claims({ jti: 42 })),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    'jti missing',
    () => ({
      dpop: signRaw(key, header(), withoutClaim('jti')),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    'jti of 1000 characters',
    () => ({
      dpop: signRaw(key, header(), claims({ jti: 'j'.repeat(1000) })),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    'htm a boolean',
    () => ({
      dpop: signRaw(key, header(), claims({ htm: true })),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    'htu an array',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: [HTU] })),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    'iat non-numeric',
    () => ({
      dpop: signRaw(key, header(), claims({ iat: 'now' })),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    'ath an object',
    () => ({
      dpop: signRaw(key, header(), claims({ ath: { v: 1 } })),
      expect: invalid('ERR_DPOP_INVALID_CLAIM'),
    }),
  ],
  [
    // Query and fragment are ignored (RFC 9449 §4.3 step 9); the path still counts.
    'htu of another path, with a query',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `${HTU}x?a=1` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu of another path, with a fragment',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `${HTU}x#x` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu on another host',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `http://evil.test${PATH}` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with another scheme',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `https://arcp.test${PATH}` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with another port',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `http://arcp.test:8080${PATH}` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with an encoded slash',
    () => ({
      dpop: signRaw(
        key,
        header(),
        claims({ htu: `${PUBLIC_URL}/auth%2Fagent/validate_compliance` }),
      ),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu for another endpoint via dot-segments',
    () => ({
      dpop: signRaw(
        key,
        header(),
        claims({ htu: `${PUBLIC_URL}/auth/agent/validate_compliance/../../../agents/register` }),
      ),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with another path case',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `${PUBLIC_URL}/AUTH/agent/validate_compliance` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with user info',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: `http://user@arcp.test${PATH}` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htm in lower case',
    () => ({
      dpop: signRaw(key, header(), claims({ htm: 'post' })),
      expect: invalid('ERR_DPOP_HTM_MISMATCH'),
    }),
  ],
  [
    'htm of another method',
    () => ({
      dpop: signRaw(key, header(), claims({ htm: 'GET' })),
      expect: invalid('ERR_DPOP_HTM_MISMATCH'),
    }),
  ],
  [
    'iat too old',
    () => ({
      dpop: signRaw(key, header(), claims({ iat: Math.floor(Date.now() / 1000) - 600 })),
      expect: invalid('ERR_DPOP_EXPIRED'),
    }),
  ],
  [
    'iat too new',
    () => ({
      dpop: signRaw(key, header(), claims({ iat: Math.floor(Date.now() / 1000) + 600 })),
      expect: invalid('ERR_DPOP_IAT_IN_FUTURE'),
    }),
  ],
  [
    'a missing ath',
    () => ({
      dpop: signRaw(key, header(), withoutClaim('ath')),
      expect: invalid('ERR_DPOP_ATH_MISSING'),
    }),
  ],
  [
    'a wrong ath',
    () => ({
      dpop: signRaw(key, header(), claims({ ath: ath('another-token') })),
      expect: invalid('ERR_DPOP_ATH_MISMATCH'),
    }),
  ],
  [
    'a signature by another key',
    () => ({
      dpop: signRaw(thief, header(), claims()),
      expect: invalid('ERR_DPOP_INVALID_SIGNATURE'),
    }),
  ],
  [
    'a payload changed after signing',
    async () => {
      const [h0, , s] = (await proof()).split('.');
      return {
        dpop: `${h0}.${b64(claims({ htm: 'POST' }))}.${s}`,
        expect: invalid('ERR_DPOP_INVALID_SIGNATURE'),
      };
    },
  ],
  [
    'a truncated signature',
    async () => ({
      dpop: (await proof()).slice(0, -10),
      expect: invalid('ERR_DPOP_INVALID_SIGNATURE'),
    }),
  ],
  [
    'a 10 KB proof',
    () => ({
      dpop: signRaw(key, header(), claims({ pad: 'p'.repeat(10_000) })),
      expect: invalid('ERR_DPOP_TOO_LARGE'),
    }),
  ],
  [
    'a 100 KB DPoP header',
    () => ({ dpop: 'a'.repeat(100 * 1024), expect: { status: 431, slug: 'headers-too-large' } }),
  ],
  [
    'two DPoP headers',
    async () => ({
      dpop: [await proof(), await proof()],
      expect: invalid('ERR_DPOP_MULTIPLE_HEADERS'),
    }),
  ],
  [
    'the bound token without a proof (DPoP scheme)',
    () => ({
      expect: { status: 401, slug: 'dpop-required', code: 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF' },
    }),
  ],
  [
    'the bound token without a proof (Bearer downgrade)',
    () => ({
      authorization: `Bearer ${token}`,
      expect: { status: 401, slug: 'dpop-required', code: 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF' },
    }),
  ],
  [
    'an empty DPoP header with the bound token',
    () => ({
      dpop: '',
      expect: { status: 401, slug: 'dpop-required', code: 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF' },
    }),
  ],
  [
    'the token used with a thief’s key (stolen token)',
    async () => ({
      dpop: await makeProof(thief, { htm: 'POST', htu: HTU, accessToken: token }),
      expect: { status: 401, slug: 'dpop-binding-mismatch', code: 'ERR_DPOP_BINDING_MISMATCH' },
    }),
  ],
  [
    'a malformed DPoP credential',
    async () => ({
      dpop: await proof(),
      authorization: 'DPoP not a token68',
      expect: { status: 400, slug: 'invalid-request', code: 'ERR_DPOP_INVALID_AUTHORIZATION' },
    }),
  ],
  [
    'the bound token after a tab, without a proof',
    () => ({
      authorization: `Bearer\t${token}`,
      expect: { status: 401, slug: 'dpop-required', code: 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF' },
    }),
  ],
  [
    'htu without the two slashes',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: HTU.replace('//', '') })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with a backslash',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: HTU.replace('/auth/', '\\auth/') })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'htu with surrounding white space',
    () => ({
      dpop: signRaw(key, header(), claims({ htu: ` ${HTU}\n` })),
      expect: invalid('ERR_DPOP_HTU_MISMATCH'),
    }),
  ],
  [
    'an RSA key with e = 1 (anyone can sign for it)',
    () => {
      const jwk = { kty: 'RSA', n: (weakRsa.publicJwk.n ?? '').padEnd(342, 'A'), e: 'AQ' };
      return {
        dpop: `${b64(header({ alg: 'RS256', jwk }))}.${b64(claims())}.${'A'.repeat(342)}`,
        expect: invalid('ERR_DPOP_INVALID_JWK'),
      };
    },
  ],
];

/** A valid proof for the target request. */
function proof(): Promise<string> {
  return makeProof(key, { htm: 'POST', htu: HTU, accessToken: token });
}

async function attack(a: Attack) {
  let req = request(h.server)
    .post(PATH)
    .set('Authorization', a.authorization ?? `DPoP ${token}`);
  if (a.dpop !== undefined) req = req.set('DPoP', a.dpop as string);
  return req.send(validationBody(agentId));
}

describe('hostile input against the running app', () => {
  it('has at least 40 distinct attacks', () => {
    expect(new Set(catalogue.map(([name]) => name)).size).toBeGreaterThanOrEqual(40);
  });

  it.each(catalogue)('refuses %s', async (_name, make) => {
    const a = await make();
    const res = await attack(a);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.body as { type?: string; code?: string; status?: number };
    expect({
      status: res.status,
      type: body.type,
      ...(a.expect.code && { code: body.code }),
    }).toEqual({
      status: a.expect.status,
      type: PROBLEM + a.expect.slug,
      ...(a.expect.code && { code: a.expect.code }),
    });
  });

  it('refuses a replayed proof, having accepted it once', async () => {
    const p = await proof();
    expect((await attack({ dpop: p, expect: { status: 202, slug: '' } })).status).toBe(202);
    const res = await attack({ dpop: p, expect: invalid('ERR_DPOP_REPLAY') });
    expect({ status: res.status, code: res.body.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_REPLAY',
    });
  });

  it('still serves the legitimate agent after all of that', async () => {
    const res = await attack({ dpop: await proof(), expect: { status: 202, slug: '' } });
    expect(res.status).toBe(202);
  });
});
