import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { request as httpRequest } from 'node:http';
import { DPoPModule, type DPoPModuleOptions } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { guardTestModule } from './guard-test.app.js';

/** Collects what the app logs, so a test can look for the start-up warning. */
class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log() {}
  error() {}
  debug() {}
  verbose() {}
  warn(message: unknown) {
    this.warnings.push(String(message));
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.close();
});

async function start(
  options: DPoPModuleOptions,
  logger = new RecordingLogger(),
): Promise<{ port: number; logger: RecordingLogger }> {
  const app = await NestFactory.create(guardTestModule(DPoPModule.forRoot(options)), {
    logger,
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  apps.push(app);
  return { port: (app.getHttpServer().address() as { port: number }).port, logger };
}

/** `POST /items` with a chosen `Host` header (fetch cannot set one) and extra headers. */
function post(
  port: number,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/items', method: 'POST', headers: { host, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('finding 3: allowedOrigins pins the origin htu is compared with', () => {
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('ES256');
  });

  const proofFor = (htu: string) => makeProof(key, { htm: 'POST', htu });

  it('refuses a proof for another origin sent with that origin as Host', async () => {
    const { port } = await start({ allowedOrigins: ['http://api.example'] });
    const stolen = await proofFor('http://other-rs.example/items');
    const reply = await post(port, 'other-rs.example', { DPoP: stolen });
    expect({ status: reply.status, code: reply.body.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_HTU_MISMATCH',
    });
  });

  it('refuses another port or scheme of an allowed host', async () => {
    const { port } = await start({ allowedOrigins: ['http://api.example'] });
    const other = await proofFor('http://api.example:8080/items');
    expect((await post(port, 'api.example:8080', { DPoP: other })).body.code).toBe(
      'ERR_DPOP_HTU_MISMATCH',
    );
  });

  it('accepts honest requests to every allowed origin, in any spelling of its host', async () => {
    const { port, logger } = await start({
      allowedOrigins: ['http://api.example', 'http://api.example.net:8443/'],
    });
    for (const [host, htu] of [
      ['api.example', 'http://api.example/items'],
      ['API.Example:80', 'http://api.example/items'],
      ['api.example.net:8443', 'http://api.example.net:8443/items'],
    ] as const) {
      const reply = await post(port, host, { DPoP: await proofFor(htu) });
      expect({ host, status: reply.status }).toEqual({ host, status: 200 });
    }
    expect(logger.warnings.filter((w) => w.includes('allowedOrigins'))).toEqual([]);
  });

  it('refuses a forwarded host from a trusted proxy that is not allowed', async () => {
    const { port } = await start({
      allowedOrigins: ['https://api.example'],
      trustedProxies: ['127.0.0.1'],
    });
    const forged = await proofFor('https://other-rs.example/items');
    const refused = await post(port, 'api.example', {
      DPoP: forged,
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'other-rs.example',
    });
    expect(refused.body.code).toBe('ERR_DPOP_HTU_MISMATCH');
    const honest = await post(port, 'internal:3000', {
      DPoP: await proofFor('https://api.example/items'),
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'api.example',
    });
    expect(honest.status).toBe(200);
  });

  it('checks the URL of a custom requestUrl resolver too', async () => {
    const { port } = await start({
      allowedOrigins: ['http://api.example'],
      requestUrl: (request) => `http://${String(request.headers.host)}${request.url}`,
    });
    const stolen = await proofFor('http://other-rs.example/items');
    expect((await post(port, 'other-rs.example', { DPoP: stolen })).body.code).toBe(
      'ERR_DPOP_HTU_MISMATCH',
    );
  });

  it('publicUrl alone is the one-origin case; allowedOrigins may list its origin', async () => {
    const { port } = await start({
      publicUrl: 'https://api.example/arcp',
      allowedOrigins: ['https://api.example', 'https://api.example.net'],
    });
    const reply = await post(port, 'anything', {
      DPoP: await proofFor('https://api.example/arcp/items'),
    });
    expect(reply.status).toBe(200);
  });

  it('without allowedOrigins keeps accepting the Host (development) and warns at start-up, naming the setting', async () => {
    const { port, logger } = await start({});
    const pair = await proofFor('http://other-rs.example/items');
    expect((await post(port, 'other-rs.example', { DPoP: pair })).status).toBe(200);
    expect(logger.warnings.filter((w) => w.includes('allowedOrigins'))).toHaveLength(1);
  });

  it.each([
    [
      'a path',
      { allowedOrigins: ['https://api.example/api'] },
      /allowedOrigins: "https:\/\/api.example\/api"/,
    ],
    ['a query', { allowedOrigins: ['https://api.example?x'] }, /allowedOrigins/],
    ['another scheme', { allowedOrigins: ['ftp://api.example'] }, /allowedOrigins/],
    ['a bare host', { allowedOrigins: ['api.example'] }, /allowedOrigins/],
    ['user information', { allowedOrigins: ['https://u@api.example'] }, /allowedOrigins/],
    [
      'not an array',
      { allowedOrigins: 'https://api.example' as unknown as string[] },
      /allowedOrigins/,
    ],
    [
      'a publicUrl outside allowedOrigins',
      { publicUrl: 'https://api.example', allowedOrigins: ['https://other.example'] },
      /publicUrl and allowedOrigins contradict/,
    ],
  ] as const)('refuses to start with %s', async (_what, options, message) => {
    await expect(
      NestFactory.create(guardTestModule(DPoPModule.forRoot(options as DPoPModuleOptions)), {
        logger: false,
        abortOnError: false,
      }),
    ).rejects.toThrow(message);
  });
});
