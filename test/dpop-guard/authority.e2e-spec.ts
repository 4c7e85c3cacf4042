import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DPoPModule, type DPoPModuleOptions } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { raw } from '../support/raw-http.js';
import { rawHttp2 } from '../support/raw-http2.js';
import {
  accessToken,
  guardTestModule,
  startGuardApp,
  type TestPlatform,
} from './guard-test.app.js';

// Issue 18 item 6: on HTTP/2 the authority is `:authority` (RFC 9113 §8.3.1), a `Host` that
// differs from it makes the request malformed, and a second `Authorization` header (which Node
// drops from `headers`) is refused, on HTTP/2 and HTTP/1.1 alike.

/** A Nest app on Fastify with `http2: true`: HTTP/2 over cleartext (h2c, prior knowledge). */
async function startH2cApp(
  options: DPoPModuleOptions,
): Promise<{ app: INestApplication; port: number }> {
  const app = await NestFactory.create<NestFastifyApplication>(
    guardTestModule(DPoPModule.forRoot(options)),
    new FastifyAdapter({ http2: true }),
    { logger: false, abortOnError: false },
  );
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

/** One request with Node's own HTTP/2 client; the body parsed as JSON. */
function h2(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/items', ...headers });
    let status = 0;
    let head: Record<string, unknown> = {};
    let text = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      head = h;
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status, headers: head, body: text ? JSON.parse(text) : {} }));
    stream.on('error', reject);
    stream.end();
  });
}

describe('DPoPGuard on HTTP/2 (Fastify, h2c)', () => {
  let key: TestKey;
  let port: number;
  let app: INestApplication;
  let session: ClientHttp2Session;
  let origin: string;
  beforeAll(async () => {
    key = await makeKey('EdDSA');
    ({ app, port } = await startH2cApp({}));
    origin = `http://127.0.0.1:${port}`;
    session = connect(origin);
  });
  afterAll(async () => {
    session.close();
    await app.close();
  });

  it('takes the authority from :authority: an honest client that sends only it is accepted', async () => {
    // Node's client sends `:authority` (from the URL it connected to) and no Host.
    const proof = await makeProof(key, { htm: 'POST', htu: `${origin}/items` });
    const reply = await h2(session, { dpop: proof });
    expect({ status: reply.status, jkt: reply.body.jkt }).toEqual({ status: 200, jkt: key.jkt });
  });

  it('also with another :authority than the address connected to, when the proof names it', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: 'http://api.example/items' });
    const reply = await h2(session, { ':authority': 'api.example', dpop: proof });
    expect(reply.status).toBe(200);
  });

  it('refuses a Host that differs from :authority (RFC 9113 §8.3.1), proof for :authority', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: `${origin}/items` });
    // Both sent explicitly: Node's client turns a lone `host` into `:authority`.
    const reply = await h2(session, {
      ':authority': `127.0.0.1:${port}`,
      host: 'evil.example',
      dpop: proof,
    });
    expect({ status: reply.status, code: reply.body.code, type: reply.body.type }).toEqual({
      status: 400,
      code: 'ERR_DPOP_MULTIPLE_HOSTS',
      type: 'urn:nest-dpop:problem:invalid-host',
    });
  });

  it('refuses a proof made for the Host when :authority differs (accepted before)', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: 'http://evil.example/items' });
    const reply = await h2(session, {
      ':authority': `127.0.0.1:${port}`,
      host: 'evil.example',
      dpop: proof,
    });
    expect({ status: reply.status, code: reply.body.code }).toEqual({
      status: 400,
      code: 'ERR_DPOP_MULTIPLE_HOSTS',
    });
  });

  it('a Host equal to :authority is no conflict', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: `${origin}/items` });
    const reply = await h2(session, {
      ':authority': `127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      dpop: proof,
    });
    expect(reply.status).toBe(200);
  });

  it('refuses two Authorization headers (Node keeps the first)', async () => {
    const token = accessToken();
    const proof = await makeProof(key, { htm: 'POST', htu: `${origin}/items`, accessToken: token });
    const headers = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':authority', `127.0.0.1:${port}`],
      [':path', '/items'],
      ['dpop', proof],
      ['authorization', `DPoP ${token}`],
      ['authorization', 'DPoP another-token'],
    ] as const;
    const reply = JSON.parse((await rawHttp2(port, headers)).body);
    expect({ status: reply.status, code: reply.code }).toEqual({
      status: 400,
      code: 'ERR_DPOP_INVALID_AUTHORIZATION',
    });
    // The same request with one Authorization header passes: the refusal is the repeat's.
    const again = await makeProof(key, { htm: 'POST', htu: `${origin}/items`, accessToken: token });
    const single = JSON.parse(
      (await rawHttp2(port, [...headers.slice(0, 4), ['dpop', again], headers[5]])).body,
    );
    expect(single).toEqual({ jkt: key.jkt, property: expect.any(String) });
  });

  it('refuses the Host attack with allowedOrigins listing both origins too', async () => {
    const pinned = await startH2cApp({ allowedOrigins: ['http://a.example', 'http://b.example'] });
    const client = connect(`http://127.0.0.1:${pinned.port}`);
    try {
      const proof = await makeProof(key, { htm: 'POST', htu: 'http://b.example/items' });
      const attack = await h2(client, {
        ':authority': 'a.example',
        host: 'b.example',
        dpop: proof,
      });
      expect({ status: attack.status, code: attack.body.code }).toEqual({
        status: 400,
        code: 'ERR_DPOP_MULTIPLE_HOSTS',
      });
      const honest = await makeProof(key, { htm: 'POST', htu: 'http://a.example/items' });
      expect((await h2(client, { ':authority': 'a.example', dpop: honest })).status).toBe(200);
    } finally {
      client.close();
      await pinned.app.close();
    }
  });
});

describe.each<TestPlatform>(['express', 'fastify'])(
  'two Authorization headers on HTTP/1.1 are refused, on %s',
  (platform) => {
    let key: TestKey;
    let app: INestApplication;
    let port: number;
    beforeAll(async () => {
      key = await makeKey('EdDSA');
      ({ app } = await startGuardApp({}, platform));
      port = (app.getHttpServer().address() as { port: number }).port;
    });
    afterAll(async () => {
      await app.close();
    });

    const request = (authorizations: string[], proof: string) =>
      `POST /items HTTP/1.1\r\nHost: api.example\r\n` +
      authorizations.map((a) => `Authorization: ${a}\r\n`).join('') +
      `DPoP: ${proof}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;

    it('400 ERR_DPOP_INVALID_AUTHORIZATION, whichever token the proof is for', async () => {
      const token = accessToken();
      for (const [first, second] of [
        [`DPoP ${token}`, 'Bearer other'],
        ['Bearer other', `DPoP ${token}`],
      ]) {
        const proof = await makeProof(key, {
          htm: 'POST',
          htu: 'http://api.example/items',
          accessToken: token,
        });
        const reply = await raw(port, request([first!, second!], proof));
        expect(reply.status).toBe(400);
        expect(reply.head).toMatch(/www-authenticate: DPoP error="invalid_request"/i);
        expect(JSON.parse(reply.body).code).toBe('ERR_DPOP_INVALID_AUTHORIZATION');
      }
    });

    it('one Authorization header passes', async () => {
      const token = accessToken();
      const proof = await makeProof(key, {
        htm: 'POST',
        htu: 'http://api.example/items',
        accessToken: token,
      });
      expect((await raw(port, request([`DPoP ${token}`], proof))).status).toBe(200);
    });
  },
);
