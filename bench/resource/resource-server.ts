/**
 * Child process of the resource-server benchmark: one server on 127.0.0.1 at BENCH_RS_PORT,
 * `GET /open` (no check) and `GET /r` (the check under test):
 * - `dpop-only`: DPoPGuard as before 0.4 (`@DPoPBound()`, cnf.jkt read without verifying the token);
 * - `verified`: DPoPGuard with the `accessToken` option (the token verified with the issuer's JWK Set);
 * - `auth0`: Express with auth0's `auth()` (JWT + DPoP) on `/r`.
 * It answers its parent with its CPU usage, and with the in-process cost of the signature checks
 * a request needs (the proof's, and a token's when first seen), timed on the same keys.
 *
 * Usage (forked): resource-server.js dpop-only|verified|auth0 express|fastify
 */
import 'reflect-metadata';
import { createPublicKey, verify } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { auth } from 'express-oauth2-jwt-bearer';
import { DPoPBound, DPoPGuard, DPoPModule, SkipDPoP, type DPoPModuleOptions } from 'nest-dpop';
import {
  RESOURCE_BENCH_ENV,
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
const send = (message: ResourceServerMessage) => process.send!(message);

@Controller()
class ResourceBenchController {
  @SkipDPoP()
  @Get('open')
  open() {
    return 'ok';
  }

  @DPoPBound()
  @Get('r')
  r() {
    return 'ok';
  }
}

let close: () => Promise<void>;
if (kind === 'auth0') {
  // A bare Express 5 app (the one Nest's adapter makes, without Nest), as auth0 documents it.
  type Handler = (req: unknown, res: { send(body: string): void }) => void;
  const app = new ExpressAdapter().getInstance<{
    get(path: string, ...handlers: unknown[]): void;
    listen(port: number, host: string): Server;
  }>();
  const ok: Handler = (_req, res) => res.send('ok');
  app.get('/open', ok);
  app.get(
    '/r',
    auth({
      issuer,
      audience,
      jwksUri,
      tokenSigningAlg: 'ES256',
      dpop: { enabled: true, required: true },
    }),
    ok,
  );
  const server = app.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
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
  await app.listen(port, '127.0.0.1');
  close = () => app.close();
}

/**
 * CPU µs per call of `fn` (this process's user + system time, not wall time, which other
 * processes on a shared machine would inflate), the median of 5 batches of `n`.
 */
function timeUs(fn: () => void, n = 2000): number {
  for (let i = 0; i < 200; i++) fn();
  const batches: number[] = [];
  for (let b = 0; b < 5; b++) {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const used = process.cpuUsage(start);
    batches.push((used.user + used.system) / n);
  }
  return batches.sort((a, b) => a - b)[2]!;
}

/** node:crypto verification of a compact JWS (ES256 / EdDSA), the cheapest way to check one. */
function jwsVerifier(compact: string, jwk: Record<string, unknown>): () => void {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const [h, p, s] = compact.split('.') as [string, string, string];
  const input = Buffer.from(`${h}.${p}`, 'latin1');
  const signature = Buffer.from(s, 'base64url');
  const alg = (JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string }).alg;
  const digest = alg === 'EdDSA' || alg === 'Ed25519' ? null : 'sha256';
  const options = digest === null ? key : { key, dsaEncoding: 'ieee-p1363' as const };
  return () => {
    if (!verify(digest, input, options, signature)) throw new Error('bench signature invalid');
  };
}

process.on('message', (command: ResourceServerCommand) => {
  if (command.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  if (command.type === 'signatures') {
    const proofHeader = JSON.parse(
      Buffer.from(command.proof.split('.')[0]!, 'base64url').toString(),
    ) as { jwk: Record<string, unknown> };
    send({
      type: 'signatures',
      proofUs: timeUs(jwsVerifier(command.proof, proofHeader.jwk)),
      tokenUs: timeUs(jwsVerifier(command.token, command.publicJwk)),
    });
  }
  if (command.type === 'stop') void close().then(() => process.exit(0));
});
send({ type: 'ready' });
