import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  DPoPBound,
  DPoPGuard,
  DPoPModule,
  DPoPProof,
  DPoPTokenEndpoint,
  JKT,
  SkipDPoP,
  SUPPORTED_DPOP_ALGORITHMS,
  type DPoPModuleOptions,
  type VerifiedDPoPProof,
} from 'nest-dpop';
import {
  createDPoPFetch,
  DPOP_CLIENT_ALGORITHMS,
  DPoPGenerator,
  type DPoPClientAlgorithm,
} from 'nest-dpop-client';
import { ARCPClient, ARCPClientError } from 'nest-dpop-client/arcp';
// A JWT-shaped token bound to a jkt: the guard reads `cnf.jkt` (an app's own auth verifies it).
import { accessToken } from '../dpop-guard/guard-test.app.js';

/**
 * The client's proofs through a real Nest app: DPoPModule + DPoPGuard + a test controller,
 * over real HTTP on 127.0.0.1.
 */

@Controller('test')
@UseGuards(DPoPGuard)
class ProofEchoController {
  @Post('things')
  @HttpCode(201)
  create(@Body() body: unknown, @DPoPProof() proof: VerifiedDPoPProof): Record<string, unknown> {
    return { jkt: proof.jkt, alg: proof.alg, htu: proof.htu, body };
  }

  @DPoPBound()
  @Get('me')
  me(@JKT() jkt: string, @DPoPProof() proof: VerifiedDPoPProof): { jkt: string; ath?: string } {
    return { jkt, ath: proof.ath };
  }

  @SkipDPoP()
  @Get('public')
  open(): { ok: true } {
    return { ok: true };
  }
}

/** Routes of the app that demands server nonces (RFC 9449 §8 and §9). */
@Controller('nonce')
@UseGuards(DPoPGuard)
class NonceController {
  @Post('items')
  @HttpCode(200)
  item(@JKT() jkt: string): { jkt: string } {
    return { jkt };
  }

  @DPoPTokenEndpoint()
  @Post('token')
  @HttpCode(200)
  token(@JKT() jkt: string): { jkt: string } {
    return { jkt };
  }
}

async function start(
  options: DPoPModuleOptions,
  controller: new () => object,
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    // The client signs with every algorithm; accept them all (most are opt-in).
    imports: [DPoPModule.forRoot({ algorithms: [...SUPPORTED_DPOP_ALGORITHMS], ...options })],
    controllers: [controller],
  }).compile();
  const nest = moduleRef.createNestApplication({ logger: false });
  await nest.listen(0, '127.0.0.1');
  return { app: nest, url: (await nest.getUrl()).replace('[::1]', '127.0.0.1') };
}

let app: INestApplication;
let baseUrl: string;

beforeAll(async () => {
  ({ app, url: baseUrl } = await start({ required: true }, ProofEchoController));
});

afterAll(async () => {
  await app.close();
});

describe.each<DPoPClientAlgorithm>(DPOP_CLIENT_ALGORITHMS)('DPoPGuard and the %s client', (alg) => {
  let generator: DPoPGenerator;
  beforeAll(async () => {
    generator = await DPoPGenerator.generate(alg);
  });

  it('verifies a proof for a POST with a query string (htu without the query)', async () => {
    const dpopFetch = createDPoPFetch(generator);
    const res = await dpopFetch(`${baseUrl}/test/things?draft=1#x`, {
      method: 'post',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      jkt: generator.jkt,
      alg,
      htu: `${baseUrl}/test/things`,
      body: { n: 1 },
    });
  });

  it('accepts a bound token with the DPoP scheme and ath, through ARCPClient.request', async () => {
    const client = new ARCPClient({ baseUrl, generator });
    const token = accessToken(generator.jkt);
    const { status, body } = await client.request<{ jkt: string; ath: string }>('GET', '/test/me', {
      token: { value: token, type: 'DPoP' },
    });
    expect(status).toBe(200);
    expect(body.jkt).toBe(generator.jkt);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
    expect(body.ath).toBe(Buffer.from(digest).toString('base64url'));
  });

  it('refuses the token of another key, as a typed error carrying the problem', async () => {
    const victim = await DPoPGenerator.generate(alg);
    const thief = new ARCPClient({ baseUrl, generator });
    const error = await thief
      .request('GET', '/test/me', { token: { value: accessToken(victim.jkt), type: 'DPoP' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ARCPClientError);
    expect(error).toMatchObject({
      status: 401,
      code: 'ERR_DPOP_BINDING_MISMATCH',
      problem: {
        type: 'urn:nest-dpop:problem:dpop-binding-mismatch',
        title: 'DPoP Binding Mismatch',
        status: 401,
        code: 'ERR_DPOP_BINDING_MISMATCH',
        instance: '/test/me',
      },
    });
  });
});

describe('DPoPGuard and the client', () => {
  let generator: DPoPGenerator;
  beforeAll(async () => {
    generator = await DPoPGenerator.generate();
  });

  it('refuses a replayed client proof', async () => {
    const url = `${baseUrl}/test/things`;
    const proof = await generator.createProof({ method: 'POST', url });
    const first = await fetch(url, { method: 'POST', headers: { DPoP: proof } });
    const second = await fetch(url, { method: 'POST', headers: { DPoP: proof } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(401);
    expect(await second.json()).toMatchObject({ code: 'ERR_DPOP_REPLAY' });
  });

  it('refuses a proof made for another URL or method', async () => {
    const wrongUrl = await generator.createProof({ method: 'POST', url: `${baseUrl}/test/other` });
    const wrongMethod = await generator.createProof({
      method: 'GET',
      url: `${baseUrl}/test/things`,
    });
    for (const proof of [wrongUrl, wrongMethod]) {
      const res = await fetch(`${baseUrl}/test/things`, {
        method: 'POST',
        headers: { DPoP: proof },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    }
  });

  it('refuses a bound token sent without its proof', async () => {
    const res = await fetch(`${baseUrl}/test/me`, {
      headers: { Authorization: `DPoP ${accessToken(generator.jkt)}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF' });
  });

  it('sends a proof the guard ignores on @SkipDPoP routes', async () => {
    const res = await createDPoPFetch(generator)(`${baseUrl}/test/public`);
    expect(res.status).toBe(200);
  });
});

describe('the client against DPoPGuard demanding server nonces', () => {
  let nonceApp: INestApplication;
  let url: string;
  /** Every request the app answered: path, status and the nonce its proof carried. */
  const seen: [string, number, unknown][] = [];

  beforeAll(async () => {
    ({ app: nonceApp, url } = await start({ required: true, nonce: true }, NonceController));
    const server = nonceApp.getHttpServer() as Server;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const proof = String(req.headers.dpop ?? '').split('.')[1] ?? '';
      const { nonce } = JSON.parse(Buffer.from(proof, 'base64url').toString() || '{}') as {
        nonce?: unknown;
      };
      res.on('finish', () => seen.push([req.url!, res.statusCode, nonce]));
    });
  });
  afterAll(async () => {
    await nonceApp.close();
  });

  it.each(DPOP_CLIENT_ALGORITHMS)(
    'retries once with the nonce (401 at a resource, 400 at a token endpoint), then reuses it: %s',
    async (alg) => {
      seen.length = 0;
      const generator = await DPoPGenerator.generate(alg);
      const dpopFetch = createDPoPFetch(generator);

      const token = await dpopFetch(`${url}/nonce/token`, { method: 'POST' });
      expect(token.status).toBe(200);
      expect(await token.json()).toEqual({ jkt: generator.jkt });
      const item = await dpopFetch(`${url}/nonce/items`, { method: 'POST' });
      expect(item.status).toBe(200);

      const nonce = seen[1]?.[2];
      expect(nonce).toEqual(expect.any(String));
      expect(seen).toEqual([
        ['/nonce/token', 400, undefined],
        ['/nonce/token', 200, nonce],
        ['/nonce/items', 200, nonce],
      ]);

      // A client that has no nonce yet meets the resource form of the challenge.
      seen.length = 0;
      const fresh = new ARCPClient({ baseUrl: url, generator });
      await expect(fresh.request('POST', '/nonce/items')).resolves.toMatchObject({ status: 200 });
      expect(seen.map(([, status]) => status)).toEqual([401, 200]);
    },
  );
});
