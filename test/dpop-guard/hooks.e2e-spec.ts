import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  type ExecutionContext,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import {
  DPoPBound,
  DPoPError,
  DPoPGuard,
  DPoPModule,
  SkipDPoP,
  type DPoPHttpRequest,
  type DPoPModuleOptions,
  type DPoPVerifiedRequest,
} from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';

@Controller()
class HooksController {
  @Get('items')
  items() {
    return { ok: true };
  }

  @Get('probe')
  probe() {
    return { ok: true };
  }

  @SkipDPoP()
  @Get('public')
  public() {
    return { ok: true };
  }
}

const apps: INestApplication[] = [];

async function start(
  guard: Type<DPoPGuard>,
  options: DPoPModuleOptions = { required: true },
): Promise<{ app: INestApplication; base: string }> {
  @Module({
    imports: [DPoPModule.forRoot(options)],
    controllers: [HooksController],
    providers: [guard, { provide: APP_GUARD, useExisting: guard }],
  })
  class HooksTestModule {}
  const app = await NestFactory.create(HooksTestModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  apps.push(app);
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.close();
});

describe('issue 12 §1: guard hooks, by subclassing DPoPGuard', () => {
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('EdDSA');
  });

  it('shouldSkip(): an override skips more routes, and super keeps @SkipDPoP() working', async () => {
    @Injectable()
    class ProbeSkippingGuard extends DPoPGuard {
      protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
        const request = context.switchToHttp().getRequest<DPoPHttpRequest>();
        return request.url === '/probe' || super.shouldSkip(context);
      }
    }
    const { base } = await start(ProbeSkippingGuard);
    expect((await get(`${base}/probe`)).status).toBe(200);
    expect((await get(`${base}/public`)).status).toBe(200);
    const refused = await get(`${base}/items`);
    expect({ status: refused.status, code: refused.body.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_MISSING',
    });
  });

  it('handleRefusal(): a custom error shape and an audit log of every refusal by code', async () => {
    const audit: string[] = [];
    @Injectable()
    class AuditingGuard extends DPoPGuard {
      protected override handleRefusal(error: DPoPError, context: ExecutionContext): never {
        audit.push(`${context.getType()} ${error.code}`);
        throw new ForbiddenException({ error: 'dpop', reason: error.code });
      }
    }
    const { base } = await start(AuditingGuard);
    const missing = await get(`${base}/items`);
    expect({ status: missing.status, body: missing.body }).toEqual({
      status: 403,
      body: { error: 'dpop', reason: 'ERR_DPOP_MISSING' },
    });
    const invalid = await get(`${base}/items`, { DPoP: 'not.a.proof' });
    expect(invalid.body.reason).toBe('ERR_DPOP_MALFORMED');
    expect(audit).toEqual(['http ERR_DPOP_MISSING', 'http ERR_DPOP_MALFORMED']);
    // A valid proof never reaches the hook.
    const proof = await makeProof(key, { htm: 'GET', htu: `${base}/items` });
    expect((await get(`${base}/items`, { DPoP: proof })).status).toBe(200);
    expect(audit).toHaveLength(2);
  });

  it('handleRefusal(): super keeps the default problem and headers', async () => {
    const seen: string[] = [];
    @Injectable()
    class LoggingGuard extends DPoPGuard {
      protected override handleRefusal(error: DPoPError, context: ExecutionContext) {
        seen.push(error.code);
        return super.handleRefusal(error, context);
      }
    }
    const { base } = await start(LoggingGuard);
    const reply = await get(`${base}/items`);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(reply.headers.get('www-authenticate')).toMatch(/^DPoP algs=/);
    expect(reply.body.code).toBe('ERR_DPOP_MISSING');
    expect(seen).toEqual(['ERR_DPOP_MISSING']);
  });

  it('onVerified(): sees each verified proof with the request, never a refused or absent one', async () => {
    const seen: { jkt: string; attached: unknown; token: unknown; binding: unknown }[] = [];
    @Injectable()
    class SuccessGuard extends DPoPGuard {
      protected override onVerified(result: DPoPVerifiedRequest, context: ExecutionContext) {
        const request = context.switchToHttp().getRequest<DPoPHttpRequest>();
        seen.push({
          jkt: result.proof.jkt,
          attached: (request.dpop as { jti?: string } | undefined)?.jti === result.proof.jti,
          token: result.token,
          binding: result.binding,
        });
      }
    }
    const { base } = await start(SuccessGuard, { required: false });
    expect((await get(`${base}/items`)).status).toBe(200);
    expect((await get(`${base}/items`, { DPoP: 'not.a.proof' })).status).toBe(401);
    expect(seen).toEqual([]);
    const proof = await makeProof(key, { htm: 'GET', htu: `${base}/items` });
    expect((await get(`${base}/items`, { DPoP: proof })).status).toBe(200);
    expect(seen).toEqual([{ jkt: key.jkt, attached: true, token: undefined, binding: undefined }]);
  });

  it('onVerified(): a DPoPError it throws refuses like the guard (problem, challenge, handleRefusal)', async () => {
    const refusals: string[] = [];
    @Injectable()
    class AllowListGuard extends DPoPGuard {
      protected override async onVerified({ proof }: DPoPVerifiedRequest) {
        if (proof.jkt !== 'some-other-key') {
          throw new DPoPError('ERR_DPOP_BINDING_MISMATCH', 'This key may not call this service');
        }
      }
      protected override handleRefusal(error: DPoPError, context: ExecutionContext) {
        refusals.push(error.code);
        return super.handleRefusal(error, context);
      }
    }
    const { base } = await start(AllowListGuard);
    const proof = await makeProof(key, { htm: 'GET', htu: `${base}/items` });
    const reply = await get(`${base}/items`, { DPoP: proof });
    expect({ status: reply.status, code: reply.body.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_BINDING_MISMATCH',
    });
    expect(reply.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/);
    expect(refusals).toEqual(['ERR_DPOP_BINDING_MISMATCH']);
  });

  it('getResponse(): the challenge headers go where the override says', async () => {
    const written: string[] = [];
    @Injectable()
    class RecordingGuard extends DPoPGuard {
      protected override getResponse(context: ExecutionContext) {
        const response = super.getResponse(context)!;
        return {
          setHeader: (name: string, value: string) => {
            written.push(name);
            return response.setHeader!(name, value);
          },
        };
      }
    }
    const { base } = await start(RecordingGuard);
    expect((await get(`${base}/items`)).status).toBe(401);
    expect(written).toEqual(
      expect.arrayContaining(['Content-Type', 'Cache-Control', 'WWW-Authenticate']),
    );
  });

  it('getRequest(): an override makes a ws context checkable (the handshake request)', async () => {
    /** A WebSocket gateway's client, carrying the HTTP upgrade request as ws does. */
    @Injectable()
    class HandshakeGuard extends DPoPGuard {
      protected override getRequest(context: ExecutionContext): DPoPHttpRequest | undefined {
        if (context.getType() === 'ws') {
          return context.switchToWs().getClient<{ upgradeReq: DPoPHttpRequest }>().upgradeReq;
        }
        return super.getRequest(context);
      }
    }
    class Gateway {
      @DPoPBound()
      onMessage() {}
    }
    const { app } = await start(HandshakeGuard, { required: false });
    const guard = app.get(HandshakeGuard);
    const wsContext = (headers: Record<string, string>) => {
      const upgradeReq: DPoPHttpRequest = {
        method: 'GET',
        url: '/socket',
        headers: { host: 'ws.example', ...headers },
      };
      const host = new ExecutionContextHost(
        [{ upgradeReq }, { event: 'message' }],
        Gateway,
        Gateway.prototype.onMessage,
      );
      host.setType('ws');
      return host;
    };
    const token = `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ cnf: { jkt: key.jkt } }),
    ).toString('base64url')}.c2ln`;
    const proof = await makeProof(key, {
      htm: 'GET',
      htu: 'http://ws.example/socket',
      accessToken: token,
    });
    await expect(
      guard.canActivate(wsContext({ authorization: `DPoP ${token}`, dpop: proof })),
    ).resolves.toBe(true);
    // Without the proof: refused, and with no HTTP response to write to, the transport's refusal.
    await expect(guard.canActivate(wsContext({ authorization: `DPoP ${token}` }))).resolves.toBe(
      false,
    );
  });
});
