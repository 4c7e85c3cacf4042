/**
 * Per-route server nonces and per-route challenges (the two gaps issue 19 left):
 * - a route requires server nonces (RFC 9449 §8, §9) with `nonce: true` while the module does not
 *   (`nonce: { secret, routesOnly: true }`): the same challenge as module-wide nonces (401
 *   `use_dpop_nonce` + `DPoP-Nonce`; 400 `{"error":"use_dpop_nonce"}` on a token endpoint), the
 *   retry passes, other routes take proofs without a nonce, wrong and expired nonces are refused;
 *   without a nonce issuer the start-up fails naming the route;
 * - a route that narrows `algorithms` names its own in the challenge's `algs` (RFC 9449 §7.1).
 * On Express and Fastify.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  DPOP_DEFAULTS,
  DPoPGuard,
  DPoPModule,
  DPoPRequired,
  DPoPTokenEndpoint,
  JKT,
  type DPoPModuleOptions,
} from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import type { TestPlatform } from './guard-test.app.js';

const SECRET = 'a-route-nonce-secret-of-at-least-32-characters';
/** A server nonce as `DPoPNonceIssuer` makes it: `<window, base 36>.<MAC>`. */
const NONCE_SHAPE = /^[0-9a-z]+\.[\w-]{20,}$/;

@Controller('rn')
class RouteNonceController {
  @DPoPRequired({ nonce: true })
  @Get('sensitive')
  sensitive(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPTokenEndpoint({ nonce: true })
  @Post('token')
  @HttpCode(200)
  token(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired()
  @Get('plain')
  plain(@JKT() jkt: string) {
    return { jkt };
  }

  @Get('open')
  open(@JKT() jkt: string | undefined) {
    return { jkt: jkt ?? null };
  }

  @DPoPTokenEndpoint()
  @Post('plain-token')
  @HttpCode(200)
  plainToken(@JKT() jkt: string) {
    return { jkt };
  }
}

@DPoPRequired({ nonce: true })
@Controller('rn-class')
class ClassNonceController {
  @Get()
  all(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired({ nonce: false })
  @Get('lifted')
  lifted(@JKT() jkt: string) {
    return { jkt };
  }
}

@Controller('algs')
class NarrowedAlgsController {
  @DPoPRequired({ algorithms: ['ES256'] })
  @Get('es256')
  es256(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired({ algorithms: ['ES256', 'PS256'], nonce: true })
  @Get('es256-nonce')
  es256Nonce(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPTokenEndpoint({ algorithms: ['ES256'], nonce: true })
  @Post('token')
  @HttpCode(200)
  token(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired()
  @Get('module')
  byModule(@JKT() jkt: string) {
    return { jkt };
  }
}

/** A provider whose method carries route settings, as a GraphQL resolver's do. */
@Injectable()
class NonceResolver {
  @DPoPRequired({ nonce: true })
  agent() {
    return { id: 'agent-1' };
  }
}

/** A Nest app with these controllers (and providers), the global guard and these options. */
async function createApp(
  dpop: DPoPModuleOptions,
  controllers: Type[],
  platform: TestPlatform,
  providers: Type[] = [],
): Promise<INestApplication> {
  @Module({
    imports: [DPoPModule.forRoot({ logRefusals: false, ...dpop })],
    controllers,
    providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }, ...providers],
  })
  class RouteNonceModule {}
  return platform === 'fastify'
    ? NestFactory.create(RouteNonceModule, new FastifyAdapter(), {
        logger: false,
        abortOnError: false,
      })
    : NestFactory.create(RouteNonceModule, { logger: false, abortOnError: false });
}

describe.each<TestPlatform>(['express', 'fastify'])('per-route settings on %s', (platform) => {
  let app: INestApplication;
  let base: string;
  let ec: TestKey;
  let ed: TestKey;
  /** Moves the app's clock (milliseconds ahead of the real one). */
  let offset = 0;
  const now = () => Date.now() + offset;

  beforeAll(async () => {
    [ec, ed] = await Promise.all([makeKey('ES256'), makeKey('EdDSA')]);
    app = await createApp(
      {
        required: false,
        nonce: { secret: SECRET, windowSeconds: 60, routesOnly: true },
        clock: now,
      },
      [RouteNonceController, ClassNonceController, NarrowedAlgsController],
      platform,
    );
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  afterEach(() => {
    offset = 0;
  });

  async function send(
    method: 'GET' | 'POST',
    path: string,
    key: TestKey | undefined,
    nonce?: string,
  ): Promise<Response> {
    const url = `${base}${path}`;
    const headers: Record<string, string> = {};
    if (key !== undefined) {
      headers.dpop = await makeProof(key, {
        htm: method,
        htu: url,
        iat: Math.floor(now() / 1000),
        ...(nonce !== undefined && { claims: { nonce } }),
      });
    }
    return fetch(url, { method, headers });
  }

  const codeOf = async (res: Response) => ((await res.json()) as { code?: string }).code;

  describe('nonce: true on a route, nonces not required module-wide', () => {
    it('refuses a proof without a nonce with 401 use_dpop_nonce, as module-wide nonces do', async () => {
      const res = await send('GET', '/rn/sensitive', ed);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce", /);
      expect(res.headers.get('dpop-nonce')).toMatch(NONCE_SHAPE);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as { type: string; code: string; detail: string };
      expect(body.code).toBe('ERR_DPOP_USE_NONCE');
      expect(body.type).toBe('urn:nest-dpop:problem:dpop-nonce-required');
      expect(body.detail).toMatch(/send the request again with a new proof/);
    });

    it('accepts the retry with the nonce it handed out, and hands out no other', async () => {
      const challenge = await send('GET', '/rn/sensitive', ed);
      const nonce = challenge.headers.get('dpop-nonce')!;
      const retry = await send('GET', '/rn/sensitive', ed, nonce);
      expect(retry.status).toBe(200);
      expect(await retry.json()).toEqual({ jkt: ed.jkt });
      expect(retry.headers.get('dpop-nonce')).toBeNull();
    });

    it('answers a token endpoint with 400 {"error":"use_dpop_nonce"} and DPoP-Nonce; the retry passes', async () => {
      const res = await send('POST', '/rn/token', ec);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('www-authenticate')).toBeNull();
      const nonce = res.headers.get('dpop-nonce')!;
      expect(nonce).toMatch(NONCE_SHAPE);
      expect(await res.json()).toEqual({
        error: 'use_dpop_nonce',
        error_description:
          'DPoP proof must carry the server nonce: send the request again with a new proof ' +
          'whose nonce claim is the DPoP-Nonce header of this response',
      });
      const retry = await send('POST', '/rn/token', ec, nonce);
      expect(retry.status).toBe(200);
      expect(await retry.json()).toEqual({ jkt: ec.jkt });
    });

    it('other routes take proofs without a nonce, and hand out none', async () => {
      for (const [method, path] of [
        ['GET', '/rn/plain'],
        ['GET', '/rn/open'],
        ['POST', '/rn/plain-token'],
        ['GET', '/rn-class/lifted'],
      ] as const) {
        const res = await send(method, path, ed);
        expect([path, res.status]).toEqual([path, 200]);
        expect([path, res.headers.get('dpop-nonce')]).toEqual([path, null]);
      }
      expect((await send('GET', '/rn/open', undefined)).status).toBe(200);
    });

    it('on a class: every route of it asks for a nonce, unless a method says nonce: false', async () => {
      const res = await send('GET', '/rn-class', ed);
      expect([res.status, await codeOf(res)]).toEqual([401, 'ERR_DPOP_USE_NONCE']);
      const nonce = res.headers.get('dpop-nonce')!;
      expect((await send('GET', '/rn-class', ed, nonce)).status).toBe(200);
    });

    it('refuses a made-up nonce and one from another secret', async () => {
      const forged = await send('GET', '/rn/sensitive', ed, 'abc.def');
      expect([forged.status, await codeOf(forged)]).toEqual([401, 'ERR_DPOP_USE_NONCE']);
      expect(forged.headers.get('dpop-nonce')).toMatch(NONCE_SHAPE);
      const stranger = await createApp(
        { nonce: { secret: 'another-instance-with-its-own-secret-0123' } },
        [RouteNonceController],
        platform,
      );
      await stranger.listen(0, '127.0.0.1');
      try {
        const { port } = stranger.getHttpServer().address() as { port: number };
        const url = `http://127.0.0.1:${port}/rn/plain`;
        const theirs = await fetch(url, {
          headers: { dpop: await makeProof(ed, { htm: 'GET', htu: url }) },
        });
        const nonce = theirs.headers.get('dpop-nonce')!;
        expect(nonce).toMatch(NONCE_SHAPE);
        const res = await send('GET', '/rn/sensitive', ed, nonce);
        expect([res.status, await codeOf(res)]).toEqual([401, 'ERR_DPOP_USE_NONCE']);
      } finally {
        await stranger.close();
      }
    });

    it('refuses an expired nonce (two windows after it was handed out), with a fresh one', async () => {
      const nonce = (await send('GET', '/rn/sensitive', ed)).headers.get('dpop-nonce')!;
      offset = 60_000; // one window later the nonce is still good, and the new one rides along
      const late = await send('GET', '/rn/sensitive', ed, nonce);
      expect(late.status).toBe(200);
      const fresh = late.headers.get('dpop-nonce');
      expect(fresh).toMatch(NONCE_SHAPE);
      expect(fresh).not.toBe(nonce);
      offset = 120_000;
      const expired = await send('GET', '/rn/sensitive', ed, nonce);
      expect([expired.status, await codeOf(expired)]).toEqual([401, 'ERR_DPOP_USE_NONCE']);
      expect(expired.headers.get('dpop-nonce')).not.toBe(nonce);
    });
  });

  describe('the challenge names the route’s algorithms (RFC 9449 §7.1)', () => {
    const moduleAlgs = `algs="${DPOP_DEFAULTS.algorithms.join(' ')}"`;

    it('a missing proof and a refused alg on a route that narrows algorithms: its algs only', async () => {
      const missing = await send('GET', '/algs/es256', undefined);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('DPoP algs="ES256"');
      const refused = await send('GET', '/algs/es256', ed);
      expect([refused.status, await codeOf(refused)]).toEqual([401, 'ERR_DPOP_UNSUPPORTED_ALG']);
      expect(refused.headers.get('www-authenticate')).toMatch(
        /^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="ES256"$/,
      );
    });

    it('the nonce challenge of such a route too', async () => {
      const res = await send('GET', '/algs/es256-nonce', ec);
      expect([res.status, await codeOf(res)]).toEqual([401, 'ERR_DPOP_USE_NONCE']);
      expect(res.headers.get('www-authenticate')).toMatch(
        /^DPoP error="use_dpop_nonce", error_description="[^"]+", algs="ES256 PS256"$/,
      );
    });

    it('a token endpoint: its 401s name its algorithms; its 400 nonce answer names none', async () => {
      const missing = await send('POST', '/algs/token', undefined);
      expect([missing.status, missing.headers.get('www-authenticate')]).toEqual([
        401,
        'DPoP algs="ES256"',
      ]);
      const nonce = await send('POST', '/algs/token', ec);
      expect(nonce.status).toBe(400);
      expect(nonce.headers.get('www-authenticate')).toBeNull();
      expect(Object.keys((await nonce.json()) as object)).toEqual(['error', 'error_description']);
    });

    it('routes without their own algorithms keep the module’s', async () => {
      const res = await send('GET', '/algs/module', undefined);
      expect(res.headers.get('www-authenticate')).toBe(`DPoP ${moduleAlgs}`);
    });
  });

  describe('nonce: true without a nonce issuer: the start-up fails, naming the routes', () => {
    it.each<[string, DPoPModuleOptions]>([
      ['no nonce option', {}],
      ['nonce: false', { nonce: false }],
    ])('%s', async (_name, options) => {
      const broken = await createApp(
        options,
        [RouteNonceController, ClassNonceController],
        platform,
      );
      try {
        const started = broken.init();
        await expect(started).rejects.toThrow(
          /RouteNonceController\.sensitive, RouteNonceController\.token, ClassNonceController\.all/,
        );
        await expect(started).rejects.toThrow(/nonce: \{ secret, routesOnly: true \}/);
      } finally {
        await broken.close().catch(() => undefined);
      }
    });

    it('a provider’s method (as a GraphQL resolver’s) is named too', async () => {
      const broken = await createApp({}, [], platform, [NonceResolver]);
      try {
        await expect(broken.init()).rejects.toThrow(/^DPoP: NonceResolver\.agent require/);
      } finally {
        await broken.close().catch(() => undefined);
      }
    });

    it('with module-wide nonces, nonce: true routes start (they ask for nonces as every route does)', async () => {
      const wide = await createApp({ nonce: { secret: SECRET } }, [RouteNonceController], platform);
      try {
        await expect(wide.init()).resolves.toBe(wide);
      } finally {
        await wide.close();
      }
    });
  });
});
