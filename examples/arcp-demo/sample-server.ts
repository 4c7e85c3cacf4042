import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { loadAppConfig, type AppConfig } from '../../src/config/app-config.js';

/**
 * The sample ARCP app (src/), booted in this process on 127.0.0.1 with a port the OS picks, for
 * the demo and the client's end-to-end tests. This file, not the client library, depends on
 * NestJS: the `nest-dpop-client` package never imports it.
 */
export interface SampleServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** A registration key the server accepts (the generated development key by default). */
  readonly agentKey: string;
  readonly config: AppConfig;
  readonly app: INestApplication;
  close(): Promise<void>;
}

/**
 * Starts the sample app with its embedded defaults (memory storage, a generated signing key and
 * development agent key, DPoP optional), plus `env`.
 */
export async function startSampleServer(env: Record<string, string> = {}): Promise<SampleServer> {
  const config = loadAppConfig({ PORT: '0', ...env });
  const nest = await NestFactory.create(AppModule.forRoot(config), { logger: ['error'] });
  const app = configureApp(nest);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return {
    url: `http://127.0.0.1:${port}`,
    agentKey: config.agentKeys[0]!,
    config,
    app,
    close: () => app.close(),
  };
}
