import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import fastifyCors from '@fastify/cors';
import Fastify from 'fastify';
import type { DPoPRequestPolicy, VerifiedDPoPProof } from 'nest-dpop';
import { dpopCors, type DPoPCorsSettings } from 'nest-dpop/cors';
import { dpopMiddleware } from '../../examples/without-nest/dpop.express-middleware.js';
import { dpopHook } from '../../examples/without-nest/dpop.fastify-hook.js';

/**
 * A plain Express or Fastify app (no Nest) with docs/without-nest.md's middleware or hook (the
 * files in examples/without-nest, which the page quotes), answering `POST /items` with the
 * proof's `jkt`; for the without-nest and browser tests.
 */

const require = createRequire(import.meta.url);

interface ExpressApp {
  use(handler: unknown): void;
  post(path: string, handler: (req: { dpop?: VerifiedDPoPProof }, res: JsonResponse) => void): void;
  listen(port: number, host: string, callback: () => void): Server;
}
interface JsonResponse {
  json(body: unknown): void;
}

/** A running plain app. */
export interface PlainApp {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Starts a plain `platform` app on 127.0.0.1 that checks requests with `policy`. With
 * `corsOrigin`, docs/library.md's CORS line for that origin goes before the DPoP check (the `cors`
 * package on Express, `@fastify/cors` on Fastify), as a preflight carries no proof.
 */
export async function startPlainApp(
  platform: 'express' | 'fastify',
  policy: DPoPRequestPolicy,
  options: { corsOrigin?: string } = {},
): Promise<PlainApp> {
  const { corsOrigin } = options;
  if (platform === 'express') {
    const app = (require('express') as () => ExpressApp)();
    if (corsOrigin !== undefined) {
      const cors = require('cors') as (settings: DPoPCorsSettings) => unknown;
      app.use(cors(dpopCors([corsOrigin])));
    }
    app.use(dpopMiddleware(policy));
    app.post('/items', (req, res) => res.json({ jkt: req.dpop?.jkt ?? null }));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
  const fastify = Fastify();
  if (corsOrigin !== undefined) await fastify.register(fastifyCors, dpopCors([corsOrigin]));
  fastify.addHook('onRequest', dpopHook(policy));
  fastify.post('/items', async (request) => ({
    jkt: (request as { dpop?: VerifiedDPoPProof }).dpop?.jkt ?? null,
  }));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  return {
    base: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`,
    close: () => fastify.close(),
  };
}
