import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import {
  DPoPModule,
  InMemoryJtiStore,
  JtiStore,
  RedisJtiStore,
  TokenBindingUnavailableError,
  type DPoPModuleOptions,
} from 'nest-dpop';
import { seedRedisJtiStoreHistory } from 'nest-dpop/testing';
import {
  ALGORITHMS,
  makeKey,
  makeProof,
  type TestAlgorithm,
  type TestKey,
} from '../support/proofs.js';
import {
  accessToken,
  guardTestModule,
  startGuardApp,
  type TestPlatform,
} from './guard-test.app.js';

/**
 * The guard's whole HTTP contract, run once per platform: Express and Fastify must give the same
 * statuses, headers and problem bodies.
 */
export function defineGuardSuite(platform: TestPlatform): void {
  const PROBLEMS = 'urn:nest-dpop:problem:';
  const REDIS_PREFIX = `test:guard-e2e:${process.pid}:`;

  const keys = {} as Record<TestAlgorithm, TestKey>;
  let redis: Redis;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    for (const alg of ALGORITHMS) keys[alg] = await makeKey(alg);
    redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
    // A fresh prefix: its missing history marker would count as a loss (test/redis/history-loss).
    await seedRedisJtiStoreHistory(redis, { keyPrefix: REDIS_PREFIX });
  });

  afterAll(async () => {
    const stale = await redis.keys(`${REDIS_PREFIX}*`);
    if (stale.length > 0) await redis.del(...stale);
    await redis.quit();
  });

  afterEach(async () => {
    while (apps.length > 0) await apps.pop()!.close();
  });

  async function start(options: DPoPModuleOptions): Promise<string> {
    const { app, base } = await startGuardApp(options, platform);
    apps.push(app);
    return base;
  }

  interface CallOptions {
    method?: string;
    proof?: string | string[];
    token?: string;
    scheme?: string;
  }

  async function call(base: string, path: string, options: CallOptions = {}) {
    const headers = new Headers();
    for (const p of [options.proof ?? []].flat()) headers.append('DPoP', p);
    if (options.token) headers.set('Authorization', `${options.scheme ?? 'DPoP'} ${options.token}`);
    const response = await fetch(base + path, { method: options.method ?? 'POST', headers });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  }

  /** Asserts an RFC 7807 refusal with the given problem slug and stable code. */
  function expectProblem(
    res: Awaited<ReturnType<typeof call>>,
    slug: string,
    code: string,
    status = 401,
  ): void {
    expect({ status: res.status, type: res.body?.type, code: res.body?.code }).toEqual({
      status,
      type: PROBLEMS + slug,
      code,
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.title).toEqual(expect.any(String));
    expect(res.body.detail).toEqual(expect.any(String));
    expect(res.body.status).toBe(status);
  }

  const proofFor = (
    key: TestKey,
    base: string,
    path: string,
    extra: { htm?: string; token?: string } = {},
  ) => makeProof(key, { htm: extra.htm ?? 'POST', htu: base + path, accessToken: extra.token });

  describe.each(ALGORITHMS)('DPoPGuard over HTTP with %s proofs', (alg) => {
    const mode = (name: string, options: DPoPModuleOptions) => [name, options] as const;

    describe.each([mode('optional', { required: false }), mode('required', { required: true })])(
      '%s mode',
      (modeName, options) => {
        let base: string;
        let app: INestApplication;
        beforeAll(async () => ({ app, base } = await startGuardApp(options, platform)));
        afterAll(() => app.close());

        it('accepts a valid proof and attaches it to the request', async () => {
          const res = await call(base, '/items', {
            proof: await proofFor(keys[alg], base, '/items'),
          });
          expect(res.status).toBe(200);
          expect(res.body.jkt).toBe(keys[alg].jkt);
          expect(res.body.property).toEqual(expect.any(String));
        });

        it('accepts a bound token with a proof from its key under the DPoP scheme', async () => {
          const token = accessToken(keys[alg].jkt);
          for (const scheme of ['DPoP', 'dpop']) {
            const proof = await proofFor(keys[alg], base, '/bound', { htm: 'GET', token });
            const res = await call(base, '/bound', { method: 'GET', proof, token, scheme });
            expect(res.status).toBe(200);
            expect(res.body).toEqual({ jkt: keys[alg].jkt });
          }
        });

        it('refuses a bound token under the Bearer scheme even with a valid proof (RFC 9449 §7.2)', async () => {
          const token = accessToken(keys[alg].jkt);
          const proof = await proofFor(keys[alg], base, '/bound', { htm: 'GET', token });
          const res = await call(base, '/bound', { method: 'GET', proof, token, scheme: 'Bearer' });
          expectProblem(res, 'dpop-invalid', 'ERR_DPOP_SCHEME_MISMATCH');
          expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
        });

        it('refuses a replayed proof', async () => {
          const proof = await proofFor(keys[alg], base, '/items');
          expect((await call(base, '/items', { proof })).status).toBe(200);
          expectProblem(await call(base, '/items', { proof }), 'dpop-invalid', 'ERR_DPOP_REPLAY');
        });

        it('refuses an invalid proof with a DPoP challenge naming the algorithms', async () => {
          const proof = await proofFor(keys[alg], base, '/items', { htm: 'PUT' });
          const res = await call(base, '/items', { proof });
          expectProblem(res, 'dpop-invalid', 'ERR_DPOP_HTM_MISMATCH');
          expect(res.body.instance).toBe('/items');
          expect(res.headers.get('www-authenticate')).toBe(
            'DPoP error="invalid_dpop_proof", error_description="DPoP htm does not match request method", algs="EdDSA Ed25519 ES256 RS256"',
          );
        });

        it('refuses a stolen bound token used with another key', async () => {
          const token = accessToken(keys[alg].jkt);
          const thief = await makeKey('EdDSA');
          const proof = await proofFor(thief, base, '/items', { token });
          const res = await call(base, '/items', { proof, token });
          expectProblem(res, 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');
          expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
        });

        it('refuses a bound token without a proof, as Bearer (a downgrade) or as DPoP', async () => {
          const token = accessToken(keys[alg].jkt);
          for (const scheme of ['Bearer', 'DPoP']) {
            expectProblem(
              await call(base, '/items', { token, scheme }),
              'dpop-required',
              'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
            );
          }
        });

        it('refuses the DPoP scheme without a proof even for an unbound token', async () => {
          expectProblem(
            await call(base, '/items', { token: accessToken(), scheme: 'DPoP' }),
            'dpop-required',
            'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
          );
        });

        it('refuses a proof without ath when a token comes along', async () => {
          const token = accessToken();
          const proof = await proofFor(keys[alg], base, '/items');
          expectProblem(
            await call(base, '/items', { proof, token, scheme: 'Bearer' }),
            'dpop-invalid',
            'ERR_DPOP_ATH_MISSING',
          );
        });

        it('refuses a proof whose ath is for another token', async () => {
          const proof = await proofFor(keys[alg], base, '/items', { token: accessToken('other') });
          expectProblem(
            await call(base, '/items', { proof, token: accessToken(), scheme: 'Bearer' }),
            'dpop-invalid',
            'ERR_DPOP_ATH_MISMATCH',
          );
        });

        it('refuses two DPoP headers', async () => {
          const proof = [
            await proofFor(keys[alg], base, '/items'),
            await proofFor(keys[alg], base, '/items'),
          ];
          expectProblem(
            await call(base, '/items', { proof }),
            'dpop-invalid',
            'ERR_DPOP_MULTIPLE_HEADERS',
          );
        });

        it('refuses a proof for another host than the one the request reached', async () => {
          const proof = await makeProof(keys[alg], {
            htm: 'POST',
            htu: 'http://evil.example/items',
          });
          expectProblem(
            await call(base, '/items', { proof }),
            'dpop-invalid',
            'ERR_DPOP_HTU_MISMATCH',
          );
        });

        it('needs a bound token and a proof on @DPoPBound() routes', async () => {
          const proof = await proofFor(keys[alg], base, '/bound', { htm: 'GET' });
          const proofOnly = await call(base, '/bound', { method: 'GET', proof });
          expectProblem(proofOnly, 'token-not-dpop-bound', 'ERR_DPOP_TOKEN_NOT_BOUND');
          // A proof is credentials of a kind: the challenge says what was wrong with them.
          expect(proofOnly.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
          const unbound = accessToken();
          const proof2 = await proofFor(keys[alg], base, '/bound', { htm: 'GET', token: unbound });
          expectProblem(
            await call(base, '/bound', { method: 'GET', proof: proof2, token: unbound }),
            'token-not-dpop-bound',
            'ERR_DPOP_TOKEN_NOT_BOUND',
          );
        });

        it('answers a request with no credentials at all with a challenge without an error (RFC 6750 §3.1)', async () => {
          const res = await call(base, '/bound', { method: 'GET' });
          expectProblem(res, 'token-not-dpop-bound', 'ERR_DPOP_TOKEN_NOT_BOUND');
          expect(res.body.detail).toBe('This endpoint requires a DPoP-bound access token');
          expect(res.headers.get('www-authenticate')).toBe('DPoP algs="EdDSA Ed25519 ES256 RS256"');
        });

        it('says an opaque token is not a JWT when nothing reads its binding', async () => {
          const proof = await proofFor(keys[alg], base, '/bound', { htm: 'GET', token: 'abc' });
          const res = await call(base, '/bound', { method: 'GET', proof, token: 'abc' });
          expectProblem(res, 'token-not-dpop-bound', 'ERR_DPOP_TOKEN_NOT_BOUND');
          expect(res.body.detail).toBe(
            'The access token is not a JWT, so it carries no cnf.jkt; use resolveTokenBinding ' +
              'or accessToken for opaque tokens',
          );
          expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
          const jwt = accessToken();
          const proof2 = await proofFor(keys[alg], base, '/bound', { htm: 'GET', token: jwt });
          const unbound = await call(base, '/bound', { method: 'GET', proof: proof2, token: jwt });
          expect(unbound.body.detail).toBe(
            'Access token does not have DPoP binding (missing cnf.jkt)',
          );
        });

        it('lets @SkipDPoP() routes through without a proof', async () => {
          expect((await call(base, '/public', { method: 'GET' })).status).toBe(200);
        });

        if (modeName === 'optional') {
          it('lets a request without proof or token through', async () => {
            const res = await call(base, '/items');
            expect(res.status).toBe(200);
            expect(res.body.jkt).toBeNull();
          });
        } else {
          it('refuses a request without proof with dpop-required and a bare challenge', async () => {
            const res = await call(base, '/items');
            expectProblem(res, 'dpop-required', 'ERR_DPOP_MISSING');
            expect(res.headers.get('www-authenticate')).toBe(
              'DPoP algs="EdDSA Ed25519 ES256 RS256"',
            );
          });
        }
      },
    );
  });

  describe('DPoPGuard disabled (DPOP_ENABLED=false)', () => {
    it('ignores proofs, even invalid ones, and bound tokens without proofs', async () => {
      const base = await start({ enabled: false });
      expect((await call(base, '/items', { proof: 'not.a.proof' })).status).toBe(200);
      expect(
        (await call(base, '/items', { token: accessToken('x'), scheme: 'Bearer' })).status,
      ).toBe(200);
    });
  });

  describe('DPoPGuard: hostile request shapes', () => {
    let base: string;
    let app: INestApplication;
    beforeAll(async () => ({ app, base } = await startGuardApp({}, platform)));
    afterAll(() => app.close());

    it.each([
      ['garbage', 'garbage', 'ERR_DPOP_MALFORMED'],
      ['bad base64 in every segment', '!!!.@@@.###', 'ERR_DPOP_MALFORMED'],
      [
        'a JSON array header',
        `${Buffer.from('[1]').toString('base64url')}.e30.AA`,
        'ERR_DPOP_MALFORMED',
      ],
      ['an oversized proof', 'a'.repeat(9000), 'ERR_DPOP_TOO_LARGE'],
    ])('refuses %s with a 401 problem, never a 500', async (_name, proof, code) => {
      expectProblem(await call(base, '/items', { proof }), 'dpop-invalid', code);
    });

    it('reads every token afresh: a re-bound or lengthened token never gets an earlier answer', async () => {
      // Issue 15: the binding and the ath digest are remembered per exact token string.
      const key = keys.EdDSA;
      const token = accessToken(key.jkt);
      const send = async (sent: string, proofToken = sent) =>
        call(base, '/items', {
          proof: await proofFor(key, base, '/items', { token: proofToken }),
          token: sent,
        });
      expect((await send(token)).status).toBe(200);
      // Same header and signature segments, the payload bound to another key: refused although
      // the token right before, much the same string, was bound to this proof's key.
      const rebound = accessToken(keys.ES256.jkt);
      expectProblem(await send(rebound), 'dpop-binding-mismatch', 'ERR_DPOP_BINDING_MISMATCH');
      // One character more (still a token68): the proof's ath is the original token's.
      const longer = `${token}A`;
      expectProblem(await send(longer, token), 'dpop-invalid', 'ERR_DPOP_ATH_MISMATCH');
      expect((await send(token)).status).toBe(200);
    });

    it('refuses a malformed DPoP authorization credential', async () => {
      const res = await call(base, '/items', { token: 'a b c', scheme: 'DPoP' });
      expectProblem(res, 'invalid-request', 'ERR_DPOP_INVALID_AUTHORIZATION', 400);
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_request"/);
    });

    it('reads a scheme followed by a tab, so a bound token cannot slip past as "not ours"', async () => {
      const res = await fetch(`${base}/items`, {
        method: 'POST',
        headers: { Authorization: `Bearer\t${accessToken(keys.EdDSA.jkt)}` },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe(
        'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
      );
    });

    it.each([
      ['a backslash', '/x\\..\\items'],
      ['a dot-segment', '/x/../items'],
      ['an encoded dot-segment', '/x/%2e%2e/items'],
    ])(
      'never serves a request target with %s (the resolver refuses it: request-url.util.spec)',
      async (_n, target) => {
        const proof = await makeProof(keys.EdDSA, { htm: 'POST', htu: `${base}/items` });
        const { request: httpRequest } = await import('node:http');
        const port = Number(new URL(base).port);
        const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(
            { host: '127.0.0.1', port, method: 'POST', path: target, headers: { DPoP: proof } },
            (r) => {
              let body = '';
              r.on('data', (c) => (body += c));
              r.on('end', () => resolve({ status: r.statusCode!, body }));
            },
          );
          req.on('error', reject);
          req.end();
        });
        // Either the router finds no route, or the guard refuses the URL: never a 2xx.
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      },
    );

    it('never trusts X-Forwarded-Host or X-Forwarded-Proto to build htu', async () => {
      const key = keys.EdDSA;
      const proof = await makeProof(key, { htm: 'POST', htu: 'https://evil.example/items' });
      const res = await fetch(`${base}/items`, {
        method: 'POST',
        headers: { DPoP: proof, 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('ERR_DPOP_HTU_MISMATCH');
    });
  });

  describe('DPoPGuard configuration', () => {
    it('checks htu against a configured public URL, not the Host header', async () => {
      const base = await start({ publicUrl: 'https://api.example.com/v1/' });
      const good = await makeProof(keys.ES256, {
        htm: 'POST',
        htu: 'https://api.example.com/v1/items',
      });
      expect((await call(base, '/items', { proof: good })).status).toBe(200);
      const local = await makeProof(keys.ES256, { htm: 'POST', htu: `${base}/items` });
      expectProblem(
        await call(base, '/items', { proof: local }),
        'dpop-invalid',
        'ERR_DPOP_HTU_MISMATCH',
      );
    });

    it('puts the verified proof on a configured request property', async () => {
      const base = await start({ requestProperty: 'proofOfPossession' });
      // The test route reads req.dpop: with another property it stays empty, but @DPoPProof() still works.
      const res = await call(base, '/items', { proof: await proofFor(keys.EdDSA, base, '/items') });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ jkt: keys.EdDSA.jkt, property: null });
    });

    it('refuses algorithms that are not configured, and advertises only the configured ones', async () => {
      const base = await start({ algorithms: ['ES256'] });
      const res = await call(base, '/items', { proof: await proofFor(keys.EdDSA, base, '/items') });
      expectProblem(res, 'dpop-invalid', 'ERR_DPOP_UNSUPPORTED_ALG');
      expect(res.headers.get('www-authenticate')).toMatch(/algs="ES256"$/);
    });

    it('with allowBearerBoundTokens, accepts a bound token as Bearer with a valid proof only', async () => {
      const base = await start({ allowBearerBoundTokens: true });
      const bound = accessToken(keys.EdDSA.jkt);
      const proof = await proofFor(keys.EdDSA, base, '/items', { token: bound });
      expect((await call(base, '/items', { proof, token: bound, scheme: 'Bearer' })).status).toBe(
        200,
      );
      expectProblem(
        await call(base, '/items', { token: bound, scheme: 'Bearer' }),
        'dpop-required',
        'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
      );
      const thief = await makeKey('ES256');
      const stolen = await proofFor(thief, base, '/items', { token: bound });
      expectProblem(
        await call(base, '/items', { proof: stolen, token: bound, scheme: 'Bearer' }),
        'dpop-binding-mismatch',
        'ERR_DPOP_BINDING_MISMATCH',
      );
    });

    it('with strictAuthorizationScheme, refuses a bound token as Bearer and an unbound one as DPoP', async () => {
      const base = await start({ strictAuthorizationScheme: true });
      const bound = accessToken(keys.EdDSA.jkt);
      const proof = await proofFor(keys.EdDSA, base, '/items', { token: bound });
      expectProblem(
        await call(base, '/items', { proof, token: bound, scheme: 'Bearer' }),
        'dpop-invalid',
        'ERR_DPOP_SCHEME_MISMATCH',
      );
      const unbound = accessToken();
      const proof2 = await proofFor(keys.EdDSA, base, '/items', { token: unbound });
      expectProblem(
        await call(base, '/items', { proof: proof2, token: unbound, scheme: 'DPoP' }),
        'dpop-invalid',
        'ERR_DPOP_SCHEME_MISMATCH',
      );
      const proof3 = await proofFor(keys.EdDSA, base, '/items', { token: bound });
      expect(
        (await call(base, '/items', { proof: proof3, token: bound, scheme: 'DPoP' })).status,
      ).toBe(200);
    });

    it('refuses the token (401 invalid_token) when a custom token-binding resolver fails, never 500', async () => {
      const base = await start({
        resolveTokenBinding: () => {
          throw new Error('token database says no');
        },
      });
      const token = accessToken();
      const proof = await proofFor(keys.EdDSA, base, '/items', { token });
      const res = await call(base, '/items', { proof, token });
      expectProblem(res, 'token-binding-invalid', 'ERR_DPOP_TOKEN_BINDING_INVALID', 401);
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
    });

    it('answers 503 with Retry-After when the resolver says it is unavailable (TokenBindingUnavailableError)', async () => {
      const base = await start({
        resolveTokenBinding: async () => {
          throw new TokenBindingUnavailableError('Introspection is down', { retryAfter: 7 });
        },
      });
      const token = accessToken();
      const proof = await proofFor(keys.EdDSA, base, '/items', { token });
      const res = await call(base, '/items', { proof, token });
      expectProblem(res, 'token-binding-unavailable', 'ERR_DPOP_TOKEN_BINDING_UNAVAILABLE', 503);
      expect(res.headers.get('retry-after')).toBe('7');
      // Not the replay store's problem: a client or an operator can tell the two apart.
      expect(res.body.type).not.toMatch(/store-unavailable/);
    });

    it('applies class decorators per controller even to one inherited handler', async () => {
      const base = await start({});
      // The same method, first through the open controller, then through the @DPoPBound one.
      expect((await call(base, '/open/whoami', { method: 'GET' })).status).toBe(200);
      expectProblem(
        await call(base, '/locked/whoami', { method: 'GET' }),
        'token-not-dpop-bound',
        'ERR_DPOP_TOKEN_NOT_BOUND',
      );
      expect((await call(base, '/open/whoami', { method: 'GET' })).status).toBe(200);
    });

    it('works with forRootAsync and an injected factory', async () => {
      const store = new InMemoryJtiStore();
      const { app, base } = await startGuardApp(
        DPoPModule.forRootAsync({ useFactory: async () => ({ required: true, store }) }),
        platform,
      );
      apps.push(app);
      expect((await call(base, '/items')).status).toBe(401);
      expect(
        (await call(base, '/items', { proof: await proofFor(keys.EdDSA, base, '/items') })).status,
      ).toBe(200);
      expect(store.size).toBe(1);
    });

    it('lets a test swap the JtiStore with overrideProvider', async () => {
      const seen: string[] = [];
      const moduleRef = await Test.createTestingModule({
        imports: [guardTestModule(DPoPModule.forRoot({}))],
      })
        .overrideProvider(JtiStore)
        .useValue({ recordIfNew: async (jti: string) => (seen.push(jti), true) })
        .compile();
      const app =
        platform === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
          : moduleRef.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
      apps.push(app);
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      const proof = await proofFor(keys.EdDSA, base, '/items');
      // The swapped store says "new" every time, so the same proof passes twice: it is really in use.
      expect((await call(base, '/items', { proof })).status).toBe(200);
      expect((await call(base, '/items', { proof })).status).toBe(200);
      expect(seen).toHaveLength(2);
    });
  });

  describe.each([
    ['the memory store', (): DPoPModuleOptions => ({ store: new InMemoryJtiStore() })],
    [
      'Redis',
      (): DPoPModuleOptions => ({ store: new RedisJtiStore(redis, { keyPrefix: REDIS_PREFIX }) }),
    ],
  ])('replay under concurrency with %s', (_name, options) => {
    it('accepts exactly one of 50 concurrent requests carrying the same proof', async () => {
      const base = await start(options());
      const proof = await proofFor(keys.EdDSA, base, '/items');
      const results = await Promise.all(
        Array.from({ length: 50 }, () => call(base, '/items', { proof })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(49);
      for (const r of results.filter((x) => x.status === 401))
        expect(r.body.code).toBe('ERR_DPOP_REPLAY');
    });
  });

  describe('replay store failure', () => {
    it('refuses with 503 when Redis is unreachable, and never lets the proof through', async () => {
      // A client pointed at a port where nothing listens: the store cannot answer.
      const dead = new Redis({
        host: '127.0.0.1',
        port: 1,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      });
      // Redis unreachable at start-up stops the app (RedisJtiStore.onApplicationBootstrap, see
      // test/redis/readme-wiring); this is Redis gone at request time: the store is handed over
      // behind a plain JtiStore, so Nest runs none of its hooks, and it starts at first use.
      const redisStore = new RedisJtiStore(dead);
      const store: JtiStore = {
        recordIfNew: (key, ttlMs, proof) => redisStore.recordIfNew(key, ttlMs, proof),
      };
      const base = await start({ store });
      const res = await call(base, '/items', { proof: await proofFor(keys.EdDSA, base, '/items') });
      redisStore.onModuleDestroy();
      expectProblem(res, 'dpop-store-unavailable', 'ERR_DPOP_STORE_UNAVAILABLE', 503);
      expect(res.headers.get('retry-after')).toBe('1');
      dead.disconnect();
    });

    it('a proof refused for its claims never reaches the store', async () => {
      let calls = 0;
      const base = await start({ store: { recordIfNew: async () => (++calls, true) } });
      const proof = await proofFor(keys.EdDSA, base, '/other-path');
      expect((await call(base, '/items', { proof })).status).toBe(401);
      expect(calls).toBe(0);
    });
  });

  describe('NestFactory boot without Redis', () => {
    it('runs on the embedded in-memory default', async () => {
      const app = await NestFactory.create(guardTestModule(DPoPModule.forRoot({})), {
        logger: false,
      });
      apps.push(app);
      expect(app.get(JtiStore)).toBeInstanceOf(InMemoryJtiStore);
    });
  });
}
