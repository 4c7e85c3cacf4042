import 'reflect-metadata';
import {
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { build } from 'esbuild';
import { DPoPRequestPolicy } from 'nest-dpop';
import { startPlainApp as startPlainAppWith, type PlainApp } from '../support/plain-apps.js';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { loadAppConfig } from '../../src/config/app-config.js';

/** What the browser test needs besides the browser: the page, its servers, the app's ears. */

const PAGE_SCRIPT = fileURLToPath(new URL('./page/arcp-page.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** The page script bundled as a browser would load it (esbuild, ESM, platform browser). */
export async function bundlePageScript(): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [PAGE_SCRIPT],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // The package names (nest-dpop-client, …/arcp) resolve to the sources, as tsconfig says.
    tsconfig: TSCONFIG,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  return { code: result.outputFiles[0]!.text, inputs };
}

/** A plain HTTP server on 127.0.0.1 serving the page: its own origin, not the app's. */
export interface PageServer {
  /** `http://127.0.0.1:<port>`: the page's origin. */
  readonly origin: string;
  close(): Promise<void>;
}

export async function servePage(script: string): Promise<PageServer> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>nest-dpop browser test</title>' +
    '<script type="module" src="/arcp-page.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    } else if (req.url === '/arcp-page.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One request as the app's HTTP server saw it, with the headers it answered with. */
export interface Exchange {
  method: string;
  path: string;
  origin: string | undefined;
  requestHeaders: IncomingHttpHeaders;
  status: number;
  responseHeaders: OutgoingHttpHeaders;
}

/** A running sample app, and every exchange it had with the browser. */
export interface App {
  readonly url: string;
  readonly exchanges: Exchange[];
  close(): Promise<void>;
}

/**
 * Starts the sample app (src/, memory storage) on 127.0.0.1 with `env`, recording each exchange
 * from the HTTP server's side (what the browser really sent and got, preflights included).
 * `cors` replaces the app's own CORS setup (ARCP_CORS_ORIGINS) with other settings.
 */
export async function startApp(
  env: Record<string, string>,
  cors?: Parameters<INestApplication['enableCors']>[0],
): Promise<App> {
  const config = loadAppConfig({ PORT: '0', ...env });
  const app = configureApp(
    await NestFactory.create(AppModule.forRoot(config), { logger: ['error'] }),
  );
  if (cors !== undefined) app.enableCors(cors);
  const exchanges: Exchange[] = [];
  const http = app.getHttpServer() as Server;
  http.on('request', (req, res) => {
    res.on('finish', () => {
      exchanges.push({
        method: req.method ?? '',
        path: new URL(req.url ?? '/', 'http://x').pathname,
        origin: req.headers.origin,
        requestHeaders: req.headers,
        status: res.statusCode,
        responseHeaders: res.getHeaders(),
      });
    });
  });
  await app.listen(0, '127.0.0.1');
  const { port } = http.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, exchanges, close: () => app.close() };
}

/** A comma-separated header value as lower-case names. */
export function headerNames(value: string | number | string[] | undefined): string[] {
  return String(value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}

/**
 * A plain Express or Fastify app (no Nest) with docs/library.md's CORS line for `origin` and
 * docs/without-nest.md's middleware or hook, nonces required, answering `POST /items` with the
 * proof's `jkt`.
 */
export function startPlainApp(
  platform: 'express' | 'fastify',
  origin: string,
  nonceSecret: string,
): Promise<PlainApp> {
  const policy = DPoPRequestPolicy.create({ nonce: { secret: nonceSecret } });
  return startPlainAppWith(platform, policy, { corsOrigin: origin });
}
