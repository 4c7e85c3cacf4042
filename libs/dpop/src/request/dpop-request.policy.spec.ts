import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeKey, makeProof, b64, type TestKey } from '../testing/proofs.fixture.js';
import {
  DPoPError,
  TokenBindingUnavailableError,
  type DPoPErrorCode,
} from '../errors/dpop.errors.js';
import type {
  DPoPHttpRequest,
  DPoPModuleOptions,
} from '../options/dpop-module-options.interface.js';
import { DPoPRequestPolicy, type DPoPRequestRoute } from './dpop-request.policy.js';

// The request rules without Nest: plain request objects in, a verified proof or a DPoPError out.

const ORIGIN = 'http://api.example';
let key: TestKey;
let other: TestKey;
beforeAll(async () => {
  [key, other] = await Promise.all([makeKey('EdDSA'), makeKey('ES256')]);
});

/** An HTTP/1.1 request as Node gives it: `headers` with the first of repeats, `rawHeaders` all. */
function http1(lines: [string, string][], path = '/items', method = 'POST'): DPoPHttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) headers[name.toLowerCase()] ??= value;
  return { method, url: path, headers, rawHeaders: lines.flat(), socket: {} };
}

/** A JWT-shaped access token bound to `jkt` (the library reads `cnf.jkt` unverified). */
function boundToken(jkt: string): string {
  return `${b64({ alg: 'EdDSA' })}.${b64({ cnf: { jkt } })}.c2ln`;
}

async function refusedWith(promise: Promise<unknown>, code: DPoPErrorCode): Promise<DPoPError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DPoPError);
  expect((error as DPoPError).code).toBe(code);
  return error as DPoPError;
}

function policy(options: DPoPModuleOptions = {}): DPoPRequestPolicy {
  return DPoPRequestPolicy.create({ allowedOrigins: [ORIGIN, 'http://a.example'], ...options });
}

describe('DPoPRequestPolicy.check', () => {
  it('accepts a valid proof and returns it with no token, binding or nonce', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
    const result = await policy().check(
      http1([
        ['Host', 'api.example'],
        ['DPoP', proof],
      ]),
    );
    expect(result.proof?.jkt).toBe(key.jkt);
    expect(result).toMatchObject({ token: undefined, binding: undefined, nonce: undefined });
  });

  it('refuses a replay, naming the jti claim', async () => {
    const rules = policy();
    const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
    const request = () =>
      http1([
        ['Host', 'api.example'],
        ['DPoP', proof],
      ]);
    await rules.check(request());
    const error = await refusedWith(rules.check(request()), 'ERR_DPOP_REPLAY');
    expect(error.claim).toBe('jti');
  });

  it('lets a request without proof through unless required', async () => {
    const request = http1([['Host', 'api.example']]);
    expect((await policy().check(request)).proof).toBeUndefined();
    await refusedWith(policy({ required: true }).check(request), 'ERR_DPOP_MISSING');
  });

  it('refuses a proof for another origin than the one the request reached', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: 'http://a.example/items' });
    const error = await refusedWith(
      policy().check(
        http1([
          ['Host', 'api.example'],
          ['DPoP', proof],
        ]),
      ),
      'ERR_DPOP_HTU_MISMATCH',
    );
    expect(error.claim).toBe('htu');
  });

  describe('tokens and bindings (RFC 9449 §7)', () => {
    it('accepts a bound token under DPoP with a proof from its key, and returns token and binding', async () => {
      const token = boundToken(key.jkt);
      const proof = await makeProof(key, {
        htm: 'POST',
        htu: `${ORIGIN}/items`,
        accessToken: token,
      });
      const result = await policy().check(
        http1([
          ['Host', 'api.example'],
          ['Authorization', `DPoP ${token}`],
          ['DPoP', proof],
        ]),
        { bound: true },
      );
      expect(result.token).toEqual({ scheme: 'DPoP', token });
      expect(result.binding).toBe(key.jkt);
      expect(result.proof?.jkt).toBe(key.jkt);
    });

    it('refuses the bound token with a proof from another key', async () => {
      const token = boundToken(key.jkt);
      const proof = await makeProof(other, {
        htm: 'POST',
        htu: `${ORIGIN}/items`,
        accessToken: token,
      });
      await refusedWith(
        policy().check(
          http1([
            ['Host', 'api.example'],
            ['Authorization', `DPoP ${token}`],
            ['DPoP', proof],
          ]),
        ),
        'ERR_DPOP_BINDING_MISMATCH',
      );
    });

    it('refuses a bound token under Bearer, unless allowBearerBoundTokens', async () => {
      const token = boundToken(key.jkt);
      const request = async () =>
        http1([
          ['Host', 'api.example'],
          ['Authorization', `Bearer ${token}`],
          [
            'DPoP',
            await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items`, accessToken: token }),
          ],
        ]);
      await refusedWith(policy().check(await request()), 'ERR_DPOP_SCHEME_MISMATCH');
      const result = await policy({ allowBearerBoundTokens: true }).check(await request());
      expect(result.token?.scheme).toBe('Bearer');
    });

    it('refuses a bound token without a proof, and a bound route without a bound token', async () => {
      const token = boundToken(key.jkt);
      await refusedWith(
        policy().check(
          http1([
            ['Host', 'api.example'],
            ['Authorization', `DPoP ${token}`],
          ]),
        ),
        'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
      );
      const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
      await refusedWith(
        policy().check(
          http1([
            ['Host', 'api.example'],
            ['DPoP', proof],
          ]),
          { bound: true },
        ),
        'ERR_DPOP_TOKEN_NOT_BOUND',
      );
    });

    it('a resolver that throws refuses the token (401 invalid_token), never passes', async () => {
      const cause = new Error('token database says no');
      const rules = policy({
        resolveTokenBinding: () => {
          throw cause;
        },
      });
      const token = 'opaque-token';
      const proof = await makeProof(key, {
        htm: 'POST',
        htu: `${ORIGIN}/items`,
        accessToken: token,
      });
      const error = await refusedWith(
        rules.check(
          http1([
            ['Host', 'api.example'],
            ['Authorization', `DPoP ${token}`],
            ['DPoP', proof],
          ]),
        ),
        'ERR_DPOP_TOKEN_BINDING_INVALID',
      );
      expect(error.cause).toBe(cause);
      const refusal = rules.refusal(error);
      expect(refusal.status).toBe(401);
      expect(refusal.headers['WWW-Authenticate']).toMatch(/^DPoP error="invalid_token"/);
    });

    it('a resolver that says it is unavailable gets 503 with its Retry-After', async () => {
      const rules = policy({
        resolveTokenBinding: async () => {
          throw new TokenBindingUnavailableError('Introspection is down', { retryAfter: 3 });
        },
      });
      const token = 'opaque-token';
      const error = await refusedWith(
        rules.check(
          http1([
            ['Host', 'api.example'],
            ['Authorization', `DPoP ${token}`],
          ]),
        ),
        'ERR_DPOP_TOKEN_BINDING_UNAVAILABLE',
      );
      const refusal = rules.refusal(error);
      expect(refusal.status).toBe(503);
      expect(refusal.headers['Retry-After']).toBe('3');
      expect(refusal.problem.type).toBe('urn:nest-dpop:problem:token-binding-unavailable');
    });
  });

  describe('the request shape: repeated and conflicting headers', () => {
    it('refuses two Host headers (Node keeps the first)', async () => {
      const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
      await refusedWith(
        policy().check(
          http1([
            ['Host', 'api.example'],
            ['Host', 'a.example'],
            ['DPoP', proof],
          ]),
        ),
        'ERR_DPOP_MULTIPLE_HOSTS',
      );
    });

    it('refuses two Authorization headers, counted in rawHeaders (Node keeps the first)', async () => {
      const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
      const request = http1([
        ['Host', 'api.example'],
        ['Authorization', 'Bearer first'],
        ['authorization', 'Bearer second'],
        ['DPoP', proof],
      ]);
      expect(request.headers.authorization).toBe('Bearer first');
      await refusedWith(policy().check(request), 'ERR_DPOP_INVALID_AUTHORIZATION');
      // A Fastify request keeps them on `raw`.
      const fastify: DPoPHttpRequest = {
        method: 'POST',
        url: '/items',
        headers: request.headers,
        raw: { rawHeaders: request.rawHeaders },
      };
      await refusedWith(policy().check(fastify), 'ERR_DPOP_INVALID_AUTHORIZATION');
      // One is fine.
      const one = http1([
        ['Host', 'api.example'],
        ['Authorization', 'Basic dTpw'],
      ]);
      expect((await policy().check(one)).token).toBeUndefined();
    });

    /** An HTTP/2 request as Node's compatibility API gives it. */
    function http2(lines: [string, string][], path = '/items'): DPoPHttpRequest {
      return http1([[':method', 'POST'], [':path', path], [':scheme', 'http'], ...lines], path);
    }

    it('HTTP/2: takes the authority from :authority', async () => {
      const proof = await makeProof(key, { htm: 'POST', htu: 'http://a.example/items' });
      const result = await policy().check(
        http2([
          [':authority', 'a.example'],
          ['dpop', proof],
        ]),
      );
      expect(result.proof?.htu).toBe('http://a.example/items');
    });

    it('HTTP/2: refuses a Host that differs from :authority, whichever the proof names', async () => {
      for (const htu of ['http://a.example/items', `${ORIGIN}/items`]) {
        const proof = await makeProof(key, { htm: 'POST', htu });
        const error = await refusedWith(
          policy().check(
            http2([
              [':authority', 'a.example'],
              ['host', 'api.example'],
              ['dpop', proof],
            ]),
          ),
          'ERR_DPOP_MULTIPLE_HOSTS',
        );
        expect(policy().refusal(error).status).toBe(400);
      }
    });

    it('HTTP/2: a Host equal to :authority (case, default port aside) is fine', async () => {
      const proof = await makeProof(key, { htm: 'POST', htu: 'http://a.example/items' });
      const result = await policy().check(
        http2([
          [':authority', 'a.example:80'],
          ['host', 'A.example'],
          ['dpop', proof],
        ]),
      );
      expect(result.proof).toBeDefined();
    });
  });

  it('shares one verification per request, but applies the route rules on every check', async () => {
    const rules = policy();
    const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
    const request = http1([
      ['Host', 'api.example'],
      ['DPoP', proof],
    ]);
    const [a, b] = await Promise.all([rules.check(request), rules.check(request)]);
    expect(a.proof).toBe(b.proof);
    await refusedWith(
      rules.check(request, { bound: true } satisfies DPoPRequestRoute),
      'ERR_DPOP_TOKEN_NOT_BOUND',
    );
  });

  it('shares one verification of a frozen request too (kept aside, not on the request)', async () => {
    const rules = policy();
    const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
    const request = Object.freeze(
      http1([
        ['Host', 'api.example'],
        ['DPoP', proof],
      ]),
    );
    const [a, b] = await Promise.all([rules.check(request), rules.check(request)]);
    expect(a.proof).toBe(b.proof);
    expect(Object.getOwnPropertySymbols(request)).toEqual([]);
  });

  it('hands out the current nonce when the proof used the previous one (RFC 9449 §8)', async () => {
    let now = 1_800_000_000_000;
    const rules = policy({
      nonce: { secret: 'a-shared-secret-of-32-characters!', windowSeconds: 60 },
      clock: () => now,
    });
    const old = rules.options.nonces!.current(now);
    now += 60_000;
    const iat = Math.floor(now / 1000);
    const proof = await makeProof(key, {
      htm: 'POST',
      htu: `${ORIGIN}/items`,
      iat,
      claims: { nonce: old },
    });
    const result = await rules.check(
      http1([
        ['Host', 'api.example'],
        ['DPoP', proof],
      ]),
    );
    expect(result.nonce).toBe(rules.options.nonces!.current(now));
    expect(result.nonce).not.toBe(old);
    const fresh = await makeProof(key, {
      htm: 'POST',
      htu: `${ORIGIN}/items`,
      iat,
      claims: { nonce: result.nonce },
    });
    expect(
      (
        await rules.check(
          http1([
            ['Host', 'api.example'],
            ['DPoP', fresh],
          ]),
        )
      ).nonce,
    ).toBeUndefined();
    const none = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items`, iat });
    const error = await refusedWith(
      rules.check(
        http1([
          ['Host', 'api.example'],
          ['DPoP', none],
        ]),
      ),
      'ERR_DPOP_USE_NONCE',
    );
    expect(error.claim).toBe('nonce');
    expect(rules.refusal(error).headers['DPoP-Nonce']).toBe(result.nonce);
  });
});

describe('DPoPRequestPolicy.refusal', () => {
  it('is the HTTP answer: status, challenge, problem with the path as instance', () => {
    const rules = policy({ algorithms: ['EdDSA', 'ES256'] });
    const refusal = rules.refusal(
      new DPoPError('ERR_DPOP_MISSING', 'This endpoint requires a DPoP proof header'),
      http1([], '/items?page=2'),
    );
    expect(refusal.status).toBe(401);
    expect(refusal.headers).toMatchObject({
      'Content-Type': 'application/problem+json',
      'WWW-Authenticate': 'DPoP algs="EdDSA ES256"',
      'Cache-Control': 'no-store',
    });
    expect(refusal.body).toMatchObject({
      type: 'urn:nest-dpop:problem:dpop-required',
      status: 401,
      instance: '/items',
      code: 'ERR_DPOP_MISSING',
    });
  });
});

describe('a request without any credentials (RFC 6750 §3.1)', () => {
  const route = { bound: true } satisfies DPoPRequestRoute;
  const options: DPoPModuleOptions = {
    algorithms: ['EdDSA', 'ES256'],
    publicUrl: ORIGIN,
    protectedResource: { resource: '/', authorization_servers: ['https://as.example'] },
  };
  const metadata = `resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource"`;

  it('gets a challenge with no error code, naming the algorithms and the metadata', async () => {
    const rules = policy(options);
    const request = http1([['Host', 'api.example']]);
    const error = await refusedWith(rules.check(request, route), 'ERR_DPOP_TOKEN_NOT_BOUND');
    const refusal = rules.refusal(error, request, false, route);
    expect(refusal.status).toBe(401);
    expect(refusal.headers['WWW-Authenticate']).toBe(`DPoP algs="EdDSA ES256", ${metadata}`);
    expect(refusal.body).toMatchObject({ code: 'ERR_DPOP_TOKEN_NOT_BOUND', status: 401 });
    // An empty header is no credential either.
    const empty = http1([
      ['Host', 'api.example'],
      ['Authorization', ''],
      ['DPoP', ''],
    ]);
    expect(rules.refusal(error, empty, false, route).headers['WWW-Authenticate']).toBe(
      `DPoP algs="EdDSA ES256", ${metadata}`,
    );
  });

  it('keeps the error code once the request carries a proof or a token', async () => {
    const rules = policy(options);
    const proof = await makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items` });
    const error = new DPoPError('ERR_DPOP_TOKEN_NOT_BOUND', 'no binding');
    for (const header of [
      ['DPoP', proof],
      ['Authorization', 'DPoP abc'],
      ['Authorization', 'Basic dXNlcjpwYXNz'],
    ] as [string, string][]) {
      const request = http1([['Host', 'api.example'], header]);
      expect(rules.refusal(error, request, false, route).headers['WWW-Authenticate']).toMatch(
        /^DPoP error="invalid_token", error_description="no binding", algs="EdDSA ES256", /,
      );
    }
    // Without the request the mapping cannot tell: the error's own challenge.
    expect(rules.refusal(error).headers['WWW-Authenticate']).toMatch(/^DPoP error="invalid_token"/);
  });

  it('keeps invalid_request for a malformed request, credentials or not (400)', () => {
    const refusal = policy(options).refusal(
      new DPoPError('ERR_DPOP_MULTIPLE_HOSTS', 'two hosts'),
      http1([['Host', 'api.example']]),
    );
    expect(refusal.status).toBe(400);
    expect(refusal.headers['WWW-Authenticate']).toMatch(/^DPoP error="invalid_request"/);
  });

  it('says an opaque token is not a JWT only when the default binding reader read it', async () => {
    const proofFor = (token: string) =>
      makeProof(key, { htm: 'POST', htu: `${ORIGIN}/items`, accessToken: token });
    const request = async (token: string) =>
      http1([
        ['Host', 'api.example'],
        ['Authorization', `DPoP ${token}`],
        ['DPoP', await proofFor(token)],
      ]);
    const opaque = await refusedWith(
      policy().check(await request('abc'), route),
      'ERR_DPOP_TOKEN_NOT_BOUND',
    );
    expect(opaque.message).toBe(
      'The access token is not a JWT, so it carries no cnf.jkt; use resolveTokenBinding or ' +
        'accessToken for opaque tokens',
    );
    const unbound = `${b64({ alg: 'EdDSA' })}.${b64({ sub: 'x' })}.c2ln`;
    const jwt = await refusedWith(
      policy().check(await request(unbound), route),
      'ERR_DPOP_TOKEN_NOT_BOUND',
    );
    expect(jwt.message).toBe('Access token does not have DPoP binding (missing cnf.jkt)');
    const resolved = await refusedWith(
      policy({ resolveTokenBinding: () => undefined }).check(await request('abc'), route),
      'ERR_DPOP_TOKEN_NOT_BOUND',
    );
    expect(resolved.message).toBe(
      'Access token does not have DPoP binding (resolveTokenBinding found none)',
    );
  });
});

describe('the request policy has no Nest in it', () => {
  it('imports no @nestjs package, directly or through its own files', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      // Value imports only: `import type` and `export type` vanish from the built code.
      for (const [, clause, from] of source.matchAll(
        /^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm,
      )) {
        if (clause !== undefined) continue;
        if (from!.startsWith('.')) visit(join(dirname(file), from!.replace(/\.js$/, '.ts')));
        else packages.add(from!);
      }
    };
    visit(join(import.meta.dirname, 'dpop-request.policy.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...packages].filter((name) => name.startsWith('@nestjs'))).toEqual([]);
  });
});
