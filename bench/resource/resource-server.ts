/**
 * Child process of the resource-server benchmark: one server on 127.0.0.1 at BENCH_RS_PORT with
 * the routes of {@link RESOURCE_PATHS}:
 * - `dpop-only`: DPoPGuard as before 0.4 (`@DPoPBound()`, cnf.jkt read without verifying the token);
 * - `verified`: DPoPGuard with the `accessToken` option (the token verified with the issuer's JWK Set);
 * - `auth0`: a bare Express app (the one Nest's adapter makes) with auth0's `auth()` (JWT + DPoP)
 *   on `/r`, or a bare Fastify app running it from a `preHandler` (auth0 ships Express
 *   middleware only; the few lines that adapt it are below).
 * It answers its parent with its process CPU usage and, for the Nest servers, the time of each
 * call inside the guard and inside the floor handlers' `crypto.verify` (see {@link InProcessTimes}).
 *
 * Usage (forked): resource-server.js dpop-only|verified|auth0 express|fastify
 */
import 'reflect-metadata';
import { createPublicKey, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import { Controller, Get, Module, Req, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { auth } from 'express-oauth2-jwt-bearer';
import { DPoPBound, DPoPGuard, DPoPModule, SkipDPoP, type DPoPModuleOptions } from 'nest-dpop';
import {
  RESOURCE_BENCH_ENV,
  RESOURCE_PATHS,
  type InProcessTimes,
  type ResourcePlatform,
  type ResourceServerCommand,
  type ResourceServerKind,
  type ResourceServerMessage,
} from './resource-bench.constants.js';

const kind = process.argv[2] as ResourceServerKind;
const platform = process.argv[3] as ResourcePlatform;
const env = (name: string) => process.env[name] ?? '';
const issuer = env(RESOURCE_BENCH_ENV.issuer);
const jwksUri = env(RESOURCE_BENCH_ENV.jwksUri);
const audience = env(RESOURCE_BENCH_ENV.audience);
const port = Number(env(RESOURCE_BENCH_ENV.port));
const tokenKey = createPublicKey({
  key: JSON.parse(env(RESOURCE_BENCH_ENV.tokenJwk)) as import('node:crypto').JsonWebKey,
  format: 'jwk',
});
const send = (message: ResourceServerMessage) => process.send!(message);

/** µs of each timed call since the parent's last reading. */
const calls = {
  guardUs: [] as number[],
  floorProofUs: [] as number[],
  floorTokenUs: [] as number[],
};
const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1000;
function medianOf(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}
/** The medians since the last reading, and a fresh start. */
function takeTimes(): InProcessTimes {
  const times = {
    guardUs: medianOf(calls.guardUs),
    floorProofUs: medianOf(calls.floorProofUs),
    floorTokenUs: medianOf(calls.floorTokenUs),
  };
  calls.guardUs = [];
  calls.floorProofUs = [];
  calls.floorTokenUs = [];
  return times;
}

/** The proof keys the floor imported, by header segment (one agent key in this benchmark). */
const proofKeys = new Map<string, VerifyKeyObjectInput>();

/**
 * The least a server can do to check a compact ES256 JWS: split it, one `crypto.verify` of the
 * signing input against the signature, with the key imported once. The proof's key comes from
 * its header (imported on first sight), the token's is the issuer's.
 */
function verifyCompact(
  compact: string,
  keyOf: (header: string) => KeyObject | VerifyKeyObjectInput,
) {
  const dot1 = compact.indexOf('.');
  const dot2 = compact.lastIndexOf('.');
  const key = keyOf(compact.slice(0, dot1));
  const input = Buffer.from(compact.slice(0, dot2), 'latin1');
  const signature = Buffer.from(compact.slice(dot2 + 1), 'base64url');
  if (!verify('sha256', input, key, signature)) throw new Error('bench signature invalid');
}

function proofKeyOf(segment: string): VerifyKeyObjectInput {
  let key = proofKeys.get(segment);
  if (key === undefined) {
    const header = JSON.parse(Buffer.from(segment, 'base64url').toString()) as {
      jwk: import('node:crypto').JsonWebKey;
    };
    key = { key: createPublicKey({ key: header.jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' };
    proofKeys.set(segment, key);
  }
  return key;
}
const tokenKeyInput: VerifyKeyObjectInput = { key: tokenKey, dsaEncoding: 'ieee-p1363' };

interface BenchRequest {
  headers: Record<string, string | string[] | undefined>;
}

@Controller()
class ResourceBenchController {
  @SkipDPoP()
  @Get(RESOURCE_PATHS.open)
  open() {
    return 'ok';
  }

  @SkipDPoP()
  @Get(RESOURCE_PATHS.floorProof)
  floorProof(@Req() request: BenchRequest) {
    const start = process.hrtime.bigint();
    verifyCompact(request.headers.dpop as string, proofKeyOf);
    calls.floorProofUs.push(since(start));
    return 'ok';
  }

  @SkipDPoP()
  @Get(RESOURCE_PATHS.floorToken)
  floorToken(@Req() request: BenchRequest) {
    const start = process.hrtime.bigint();
    verifyCompact((request.headers.authorization as string).slice(5), () => tokenKeyInput);
    calls.floorTokenUs.push(since(start));
    return 'ok';
  }

  @DPoPBound()
  @Get(RESOURCE_PATHS.guarded)
  r() {
    return 'ok';
  }
}

const auth0Options = {
  issuer,
  audience,
  jwksUri,
  tokenSigningAlg: 'ES256',
  dpop: { enabled: true, required: true },
} as const;

let close: () => Promise<void>;
if (kind === 'auth0' && platform === 'express') {
  type Handler = (req: unknown, res: { send(body: string): void }) => void;
  const app = new ExpressAdapter().getInstance<{
    get(path: string, ...handlers: unknown[]): void;
    listen(port: number, host: string): Server;
  }>();
  const ok: Handler = (_req, res) => res.send('ok');
  app.get(RESOURCE_PATHS.open, ok);
  app.get(RESOURCE_PATHS.guarded, auth(auth0Options), ok);
  const server = app.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
} else if (kind === 'auth0') {
  // auth0's `auth()` on Fastify: it reads `protocol`, `originalUrl`, `get()` and `is()` of an
  // Express request, and answers through `next(error)`. The adapter is what a Fastify user
  // would write; its cost (one small object per request) is counted against auth0.
  interface FastifyRequest {
    headers: Record<string, string | string[] | undefined>;
    method: string;
    url: string;
    query: unknown;
    body: unknown;
    socket: unknown;
  }
  interface FastifyReply {
    code(status: number): FastifyReply;
    header(name: string, value: string): FastifyReply;
    send(body: unknown): void;
  }
  const middleware = auth(auth0Options);
  const app = new FastifyAdapter().getInstance<{
    get(path: string, options: object, handler: () => string): void;
    get(path: string, handler: () => string): void;
    listen(options: { port: number; host: string }): Promise<string>;
    close(): Promise<void>;
  }>();
  const preHandler = (request: FastifyRequest, reply: FastifyReply, done: (e?: Error) => void) => {
    const req = {
      headers: request.headers,
      method: request.method,
      url: request.url,
      originalUrl: request.url,
      query: request.query,
      body: request.body,
      socket: request.socket,
      protocol: 'http',
      get: (name: string) => request.headers[name.toLowerCase()],
      is: () => false,
    };
    void middleware(req, reply, (error?: unknown) => {
      if (error === undefined) return done();
      const e = error as { status?: number; headers?: Record<string, string>; message?: string };
      for (const [name, value] of Object.entries(e.headers ?? {})) reply.header(name, value);
      reply.code(e.status ?? 500).send({ error: e.message });
    });
  };
  app.get(RESOURCE_PATHS.open, () => 'ok');
  app.get(RESOURCE_PATHS.guarded, { preHandler }, () => 'ok');
  await app.listen({ port, host: '127.0.0.1' });
  close = () => app.close();
} else {
  const options: DPoPModuleOptions = {
    publicUrl: `http://127.0.0.1:${port}`,
    logRefusals: false,
    // The per-client proof budget (429 past 10,000 new proofs a minute) is not what is measured
    // here, and a benchmark client is one address making far more; proofs with a verified token
    // are not counted by it anyway.
    proofBudget: false,
    ...(kind === 'verified' && { accessToken: { issuer, audience, jwksUri } }),
  };
  @Module({
    imports: [DPoPModule.forRoot(options)],
    controllers: [ResourceBenchController],
    providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
  })
  class ResourceBenchModule {}
  const app =
    platform === 'fastify'
      ? await NestFactory.create(ResourceBenchModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(ResourceBenchModule, { logger: false });
  // The guard's own time: from the call until its promise settles (see InProcessTimes).
  const guard = app.get(DPoPGuard);
  const canActivate = guard.canActivate.bind(guard);
  guard.canActivate = async (context: ExecutionContext) => {
    const start = process.hrtime.bigint();
    try {
      return await canActivate(context);
    } finally {
      calls.guardUs.push(since(start));
    }
  };
  await app.listen(port, '127.0.0.1');
  close = () => app.close();
}

process.on('message', (command: ResourceServerCommand) => {
  if (command.type === 'cpu')
    send({ type: 'cpu', usage: process.cpuUsage(), inProcess: takeTimes() });
  if (command.type === 'stop') void close().then(() => process.exit(0));
});
send({ type: 'ready' });
