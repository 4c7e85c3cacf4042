/**
 * Routes that say what they need (issue 19 item 1, item 2): a token endpoint refuses a request
 * without a proof unless it says otherwise; @DPoPRequired() demands a proof without a bound token;
 * per-route algorithms, window and nonce, method over class; the app's own "public" metadata
 * honoured as @SkipDPoP(); the issuing helpers bind the token to the verified proof's key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  SetMetadata,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { decodeJwt, SignJWT } from 'jose';
import {
  DPoPGuard,
  DPoPModule,
  DPoPProof,
  DPoPRequired,
  DPoPTokenEndpoint,
  JKT,
  SkipDPoP,
  dpopBinding,
  dpopTokenResponse,
  type DPoPModuleOptions,
  type DPoPTokenResponse,
  type VerifiedDPoPProof,
} from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';

/** The app's own public marker, as apps write it for their JWT / passport guard. */
const IS_PUBLIC_KEY = 'isPublic';
const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
const SECRET = new TextEncoder().encode('a-test-signing-secret-of-32-bytes!!');

@Controller('as')
class TokenController {
  @DPoPTokenEndpoint()
  @Post('token')
  @HttpCode(200)
  async token(@DPoPProof() proof: VerifiedDPoPProof): Promise<DPoPTokenResponse> {
    const accessToken = await new SignJWT({ sub: 'agent-1', ...dpopBinding(proof) })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(SECRET);
    return dpopTokenResponse(accessToken, { expiresIn: 300 });
  }

  @DPoPTokenEndpoint({ required: false })
  @Post('token-or-bearer')
  @HttpCode(200)
  tokenOrBearer(@JKT() jkt: string | undefined) {
    return { jkt: jkt ?? null };
  }
}

@Controller('routes')
class RoutesController {
  @DPoPRequired()
  @Get('proof')
  proof(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired({ proofTtl: 5 })
  @Get('short')
  short(@JKT() jkt: string) {
    return { jkt };
  }

  @Get('open')
  open(@JKT() jkt: string | undefined) {
    return { jkt: jkt ?? null };
  }
}

@DPoPRequired({ algorithms: ['ES256'] })
@Controller('strict')
class StrictController {
  @Get('class')
  byClass(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired({ algorithms: ['EdDSA'] })
  @Get('method')
  byMethod(@JKT() jkt: string) {
    return { jkt };
  }

  @SkipDPoP()
  @Get('skipped')
  skipped() {
    return { ok: true };
  }

  @Public()
  @Get('public')
  public() {
    return { ok: true };
  }
}

@Public()
@Controller('public')
class PublicController {
  @Get()
  get() {
    return { ok: true };
  }
}

/** An app with these controllers, the global guard and these options, on a loopback port. */
async function startGuardApp(
  options: DPoPModuleOptions & { extraControllers: Type[] },
): Promise<{ app: INestApplication; base: string }> {
  const { extraControllers, ...dpop } = options;
  @Module({
    imports: [DPoPModule.forRoot({ logRefusals: false, ...dpop })],
    controllers: extraControllers,
    providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
  })
  class RouteNeedsModule {}
  const app = await NestFactory.create(RouteNeedsModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, base: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

let app: INestApplication;
let base: string;
let ec: TestKey;
let ed: TestKey;

beforeAll(async () => {
  [ec, ed] = await Promise.all([makeKey('ES256'), makeKey('EdDSA')]);
  ({ app, base } = await startGuardApp({
    required: false,
    publicRouteMetadata: [IS_PUBLIC_KEY],
    extraControllers: [TokenController, RoutesController, StrictController, PublicController],
  }));
});

afterAll(async () => {
  await app?.close();
});

async function call(
  method: 'GET' | 'POST',
  path: string,
  key?: TestKey,
  iat?: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${base}${path}`;
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.dpop = await makeProof(key, { htm: method, htu: url, iat });
  const res = await fetch(url, { method, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('@DPoPTokenEndpoint()', () => {
  it('refuses a token request without a proof by default (it would mint an unbound token)', async () => {
    const res = await call('POST', '/as/token');
    expect([res.status, res.body.code]).toEqual([401, 'ERR_DPOP_MISSING']);
  });

  it('binds the token it issues to the verified proof’s key: cnf.jkt, token_type DPoP', async () => {
    const res = await call('POST', '/as/token', ec);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'DPoP',
      expires_in: 300,
    });
    expect(decodeJwt(res.body.access_token as string).cnf).toEqual({ jkt: ec.jkt });
  });

  it('{ required: false }: the module decides (optional here; required: see dpop-modes), with a proof it is checked', async () => {
    expect(await call('POST', '/as/token-or-bearer')).toEqual({ status: 200, body: { jkt: null } });
    expect(await call('POST', '/as/token-or-bearer', ed)).toEqual({
      status: 200,
      body: { jkt: ed.jkt },
    });
  });
});

describe('@DPoPRequired() and per-route settings', () => {
  it('demands a proof on the route, without a bound token', async () => {
    const missing = await call('GET', '/routes/proof');
    expect([missing.status, missing.body.code]).toEqual([401, 'ERR_DPOP_MISSING']);
    expect(await call('GET', '/routes/proof', ed)).toEqual({ status: 200, body: { jkt: ed.jkt } });
    // Routes without a decorator keep the module's setting (optional).
    expect(await call('GET', '/routes/open')).toEqual({ status: 200, body: { jkt: null } });
  });

  it('the route’s own window: a 10 s old proof passes the module’s 120 s, not the route’s 5 s', async () => {
    const tenSecondsAgo = Math.floor(Date.now() / 1000) - 10;
    expect((await call('GET', '/routes/open', ed, tenSecondsAgo)).status).toBe(200);
    const late = await call('GET', '/routes/short', ed, tenSecondsAgo);
    expect([late.status, late.body.code]).toEqual([401, 'ERR_DPOP_EXPIRED']);
    expect((await call('GET', '/routes/short', ed)).status).toBe(200);
  });

  it('algorithms: the class’s on its routes, the method’s over the class’s', async () => {
    const refused = await call('GET', '/strict/class', ed);
    expect([refused.status, refused.body.code]).toEqual([401, 'ERR_DPOP_UNSUPPORTED_ALG']);
    expect(await call('GET', '/strict/class', ec)).toEqual({ status: 200, body: { jkt: ec.jkt } });
    expect(await call('GET', '/strict/method', ed)).toEqual({ status: 200, body: { jkt: ed.jkt } });
    const byMethod = await call('GET', '/strict/method', ec);
    expect([byMethod.status, byMethod.body.code]).toEqual([401, 'ERR_DPOP_UNSUPPORTED_ALG']);
    const missing = await call('GET', '/strict/class');
    expect([missing.status, missing.body.code]).toEqual([401, 'ERR_DPOP_MISSING']);
  });
});

describe('publicRouteMetadata: the app’s own @Public() means @SkipDPoP()', () => {
  it('on a method (over its class’s @DPoPRequired()) and on a class', async () => {
    expect(await call('GET', '/strict/skipped')).toEqual({ status: 200, body: { ok: true } });
    expect(await call('GET', '/strict/public')).toEqual({ status: 200, body: { ok: true } });
    expect(await call('GET', '/public')).toEqual({ status: 200, body: { ok: true } });
  });
});

describe('nonce: false on a route, server nonces required module-wide', () => {
  let nonceApp: INestApplication;
  let nonceBase: string;

  beforeAll(async () => {
    ({ app: nonceApp, base: nonceBase } = await startGuardApp({
      nonce: { secret: 'a-nonce-secret-of-at-least-32-characters!' },
      extraControllers: [NoNonceController],
    }));
  });

  afterAll(async () => {
    await nonceApp?.close();
  });

  it('the route takes a proof without a nonce; another route still asks for one', async () => {
    const proofFor = (url: string) => makeProof(ed, { htm: 'GET', htu: url });
    const free = `${nonceBase}/no-nonce`;
    expect((await fetch(free, { headers: { dpop: await proofFor(free) } })).status).toBe(200);
    const other = `${nonceBase}/with-nonce`;
    const asked = await fetch(other, { headers: { dpop: await proofFor(other) } });
    expect(asked.status).toBe(401);
    expect(((await asked.json()) as { code: string }).code).toBe('ERR_DPOP_USE_NONCE');
  });
});

@Controller()
class NoNonceController {
  @DPoPRequired({ nonce: false })
  @Get('no-nonce')
  free(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPRequired()
  @Get('with-nonce')
  asked(@JKT() jkt: string) {
    return { jkt };
  }
}

describe('route settings are checked when the decorator is applied', () => {
  it('refuses an unknown setting, an unsupported algorithm, a window out of range, a nonce not true or false', () => {
    expect(() => DPoPRequired({ algorithm: ['ES256'] } as never)).toThrow(
      /@DPoPRequired\(\): DPoP route option algorithm is unknown/,
    );
    expect(() => DPoPRequired({ algorithms: ['HS256'] as never })).toThrow(/not a supported/);
    expect(() => DPoPRequired({ proofTtl: 0 })).toThrow(/proofTtl must be a number of seconds/);
    expect(() => DPoPTokenEndpoint({ clockSkew: 7200 })).toThrow(/at most 3600/);
    // nonce: true (nonces on this route only) is tested in route-nonce.e2e-spec.ts.
    expect(() => DPoPRequired({ nonce: 'yes' } as never)).toThrow(
      /@DPoPRequired\(\): DPoP route option nonce must be true or false, got yes/,
    );
    expect(() => dpopBinding('not-a-thumbprint')).toThrow(/needs the verified proof/);
  });
});
