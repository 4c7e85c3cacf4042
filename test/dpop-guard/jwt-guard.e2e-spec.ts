import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Req,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { SignJWT, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { DPoPBound, DPoPGuard, DPoPModule, JKT, type VerifiedDPoPProof } from 'nest-dpop';
import { DPoPTestKey } from 'nest-dpop/testing';

// Issue 15 (d): the package README's recipe, a JWT guard next to DPoPGuard, does what it says:
// DPoPGuard checks the proof and the binding but not the token's signature; the JWT guard does;
// guards run in order (global first, then @UseGuards() in the order listed).

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'https://api.example.com';
const issuerKeys = await generateKeyPair('ES256');
const forgerKeys = await generateKeyPair('ES256');

type Request = {
  headers: Record<string, string | undefined>;
  user?: JWTPayload;
  dpop?: VerifiedDPoPProof;
  proofSeenByJwtGuard?: boolean;
};

/** The README's hand-written guard, with a local key instead of createRemoteJWKSet. */
@Injectable()
class JwtGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (!/^(DPoP|Bearer)$/i.test(scheme ?? '') || !token) throw new UnauthorizedException();
    try {
      // The signature, issuer, audience and expiry: what DPoPGuard does not check.
      req.user = (
        await jwtVerify(token, issuerKeys.publicKey, { issuer: ISSUER, audience: AUDIENCE })
      ).payload;
    } catch {
      throw new UnauthorizedException();
    }
    req.proofSeenByJwtGuard = req.dpop !== undefined;
    return true;
  }
}

@Controller('jwt')
@UseGuards(JwtGuard)
class JwtController {
  @DPoPBound()
  @Get('me')
  me(@JKT() jkt: string, @Req() req: Request) {
    const cnf = req.user?.cnf as { jkt?: string } | undefined;
    return { jkt, cnfJkt: cnf?.jkt, proofSeenByJwtGuard: req.proofSeenByJwtGuard };
  }
}

/** A route guarded by DPoPGuard alone: the binding is only as good as a token check it lacks. */
@Controller('dpop-only')
class DPoPOnlyController {
  @DPoPBound()
  @Get('me')
  me(@JKT() jkt: string) {
    return { jkt };
  }
}

/** The per-route form: the JWT guard first, so a forged token never reaches the replay store. */
@Controller('ordered')
class OrderedController {
  @DPoPBound()
  @UseGuards(JwtGuard, DPoPGuard)
  @Get('me')
  me(@JKT() jkt: string) {
    return { jkt };
  }
}

@Module({
  imports: [DPoPModule.forRoot({})],
  controllers: [JwtController, DPoPOnlyController],
  providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
})
class GlobalGuardApp {}

@Module({ imports: [DPoPModule.forRoot({})], controllers: [OrderedController] })
class RouteGuardsApp {}

function token(jkt: string, key: CryptoKey = issuerKeys.privateKey): Promise<string> {
  return new SignJWT({ cnf: { jkt } })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('agent-1')
    .setExpirationTime('5m')
    .sign(key);
}

async function listen(module: new () => object): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

function call(url: string, accessToken: string, proof: string) {
  return fetch(url, { headers: { Authorization: `DPoP ${accessToken}`, DPoP: proof } });
}

describe('a JWT guard next to the global DPoPGuard', () => {
  let app: INestApplication;
  let base: string;
  beforeAll(async () => ({ app, url: base } = await listen(GlobalGuardApp)));
  afterAll(() => app.close());

  it('passes a signed token bound to the proof key: @JKT() is the verified cnf.jkt', async () => {
    const key = DPoPTestKey.generate();
    const accessToken = await token(key.jkt);
    const url = `${base}/jwt/me`;
    const res = await call(url, accessToken, key.proof({ method: 'GET', url, accessToken }));
    expect(res.status).toBe(200);
    // The global guard ran first: the JWT guard already saw the verified proof.
    expect(await res.json()).toEqual({ jkt: key.jkt, cnfJkt: key.jkt, proofSeenByJwtGuard: true });
  });

  it('DPoPGuard alone accepts a forged token with the right cnf.jkt: it verifies no signature', async () => {
    const key = DPoPTestKey.generate();
    const forged = await token(key.jkt, forgerKeys.privateKey);
    const url = `${base}/dpop-only/me`;
    const res = await call(url, forged, key.proof({ method: 'GET', url, accessToken: forged }));
    expect(res.status).toBe(200);
  });

  it('the JWT guard refuses that forged token', async () => {
    const key = DPoPTestKey.generate();
    const forged = await token(key.jkt, forgerKeys.privateKey);
    const url = `${base}/jwt/me`;
    const res = await call(url, forged, key.proof({ method: 'GET', url, accessToken: forged }));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).not.toMatch(/problem\+json/); // not DPoPGuard's
  });

  it('DPoPGuard refuses a signed token bound to another key than the proof’s', async () => {
    const [owner, thief] = [DPoPTestKey.generate(), DPoPTestKey.generate()];
    const accessToken = await token(owner.jkt);
    const url = `${base}/jwt/me`;
    const res = await call(url, accessToken, thief.proof({ method: 'GET', url, accessToken }));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('ERR_DPOP_BINDING_MISMATCH');
  });
});

/**
 * A forged token, then a good one, with proofs of one jti: the second is a replay exactly when
 * DPoPGuard had already recorded the jti of the first, i.e. when it ran before the JWT guard.
 */
async function forgedThenGood(url: string): Promise<{ status: number; code?: string }> {
  const key = DPoPTestKey.generate();
  const jti = `jti-${key.jkt}`;
  const forged = await token(key.jkt, forgerKeys.privateKey);
  const first = await call(
    url,
    forged,
    key.proof({ method: 'GET', url, accessToken: forged, jti }),
  );
  expect(first.status).toBe(401);
  const good = await token(key.jkt);
  const second = await call(url, good, key.proof({ method: 'GET', url, accessToken: good, jti }));
  const body = (await second.json()) as { code?: string };
  return { status: second.status, code: body.code };
}

describe('guard order', () => {
  const apps: INestApplication[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  it('global DPoPGuard, then @UseGuards(JwtGuard): the forged request used up the jti', async () => {
    const { app, url } = await listen(GlobalGuardApp);
    apps.push(app);
    expect(await forgedThenGood(`${url}/jwt/me`)).toEqual({ status: 401, code: 'ERR_DPOP_REPLAY' });
  });

  it('@UseGuards(JwtGuard, DPoPGuard) runs in the order listed: the forged token never reached the store', async () => {
    const { app, url } = await listen(RouteGuardsApp);
    apps.push(app);
    expect((await forgedThenGood(`${url}/ordered/me`)).status).toBe(200);
  });
});
