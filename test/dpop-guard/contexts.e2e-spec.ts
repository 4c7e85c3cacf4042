import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { DPoPBound, DPoPGuard, DPoPModule, SkipDPoP, type DPoPModuleOptions } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { accessToken } from './guard-test.app.js';

/** Class-level @SkipDPoP(), one method bound: the method's decorator must win. */
@SkipDPoP()
@Controller('skipped-class')
class SkippedClassController {
  @DPoPBound()
  @Get('bound')
  bound() {
    return { ok: true };
  }

  @Get('open')
  open() {
    return { ok: true };
  }
}

/** Class-level @DPoPBound(), one method skipped: the method's decorator must win. */
@DPoPBound()
@Controller('bound-class')
class BoundClassController {
  @SkipDPoP()
  @Get('skipped')
  skipped() {
    return { ok: true };
  }

  @Get('bound')
  bound() {
    return { ok: true };
  }
}

/** A plain handler class for hand-made contexts (rpc, ws): what a message pattern would be. */
class MessageHandlers {
  plain() {}
  @DPoPBound()
  bound() {}
  @SkipDPoP()
  skipped() {}
}

async function start(options: DPoPModuleOptions = {}): Promise<INestApplication> {
  @Module({
    imports: [DPoPModule.forRoot(options)],
    controllers: [SkippedClassController, BoundClassController],
    providers: [{ provide: APP_GUARD, useClass: DPoPGuard }],
  })
  class ContextsTestModule {}
  const app = await NestFactory.create(ContextsTestModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

function baseOf(app: INestApplication): string {
  return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A context of `type` for `handler` of {@link MessageHandlers}, as the rpc and ws hosts make them. */
function contextFor(type: 'rpc' | 'ws', handler: keyof MessageHandlers): ExecutionContextHost {
  const host = new ExecutionContextHost(
    [{ pattern: 'cmd' }, {}, undefined],
    MessageHandlers,
    MessageHandlers.prototype[handler],
  );
  host.setType(type);
  return host;
}

describe('finding 4: decorator precedence, the method decorator wins over its class', () => {
  let app: INestApplication;
  let base: string;
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('ES256');
    app = await start();
    base = baseOf(app);
  });
  afterAll(() => app.close());

  it('class @SkipDPoP() + method @DPoPBound(): the method is bound (a stolen token without proof is refused)', async () => {
    const stolen = accessToken(key.jkt);
    const reply = await get(`${base}/skipped-class/bound`, { Authorization: `DPoP ${stolen}` });
    expect({ status: reply.status, code: reply.body?.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF',
    });
    // Without a token at all it is refused too (it is bound, not skipped).
    const bare = await get(`${base}/skipped-class/bound`);
    expect(bare.body?.code).toBe('ERR_DPOP_TOKEN_NOT_BOUND');
  });

  it('class @SkipDPoP() + method @DPoPBound(): a bound token with its proof passes', async () => {
    const token = accessToken(key.jkt);
    const proof = await makeProof(key, {
      htm: 'GET',
      htu: `${base}/skipped-class/bound`,
      accessToken: token,
    });
    const reply = await get(`${base}/skipped-class/bound`, {
      Authorization: `DPoP ${token}`,
      DPoP: proof,
    });
    expect(reply.status).toBe(200);
  });

  it('class @SkipDPoP() alone: the other method stays skipped', async () => {
    const reply = await get(`${base}/skipped-class/open`, { DPoP: 'not-a-proof' });
    expect(reply.status).toBe(200);
  });

  it('class @DPoPBound() + method @SkipDPoP(): the method is skipped', async () => {
    expect((await get(`${base}/bound-class/skipped`)).status).toBe(200);
  });

  it('class @DPoPBound() alone: the other method stays bound', async () => {
    const reply = await get(`${base}/bound-class/bound`);
    expect({ status: reply.status, code: reply.body?.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_TOKEN_NOT_BOUND',
    });
  });
});

describe('finding 4: contexts the guard cannot check (rpc, ws) are refused on bound or required routes', () => {
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });
  async function guard(options: DPoPModuleOptions): Promise<DPoPGuard> {
    const app = await start(options);
    apps.push(app);
    return app.get(DPoPGuard);
  }

  it.each(['rpc', 'ws'] as const)('%s: refuses a @DPoPBound() handler', async (type) => {
    const g = await guard({ required: false });
    await expect(g.canActivate(contextFor(type, 'bound'))).resolves.toBe(false);
  });

  it.each(['rpc', 'ws'] as const)('%s: refuses every handler when required', async (type) => {
    const g = await guard({ required: true });
    await expect(g.canActivate(contextFor(type, 'plain'))).resolves.toBe(false);
  });

  it.each(['rpc', 'ws'] as const)(
    '%s: lets @SkipDPoP() handlers through, even when required',
    async (type) => {
      const g = await guard({ required: true });
      await expect(g.canActivate(contextFor(type, 'skipped'))).resolves.toBe(true);
    },
  );

  it.each(['rpc', 'ws'] as const)(
    '%s: lets unbound handlers through when DPoP is optional',
    async (type) => {
      const g = await guard({ required: false });
      await expect(g.canActivate(contextFor(type, 'plain'))).resolves.toBe(true);
    },
  );

  it('lets everything through when DPoP is disabled', async () => {
    // (enabled: false with required: true is refused at start-up, see dpop-options.util.spec.ts.)
    const g = await guard({ enabled: false });
    await expect(g.canActivate(contextFor('rpc', 'bound'))).resolves.toBe(true);
  });
});
