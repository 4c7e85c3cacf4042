import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import type { AppConfig } from './config/app-config.js';
import { validateEnvironment } from './config/env.schema.js';
import { describeStartupError } from './config/startup-error.js';

const logger = new Logger('ARCP');

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readConfig(): AppConfig {
  try {
    return validateEnvironment(process.env).arcp;
  } catch (error) {
    // A configuration mistake: say which variable, without a stack trace.
    logger.error(`Invalid configuration: ${message(error)}`);
    process.exit(1);
  }
}

function dpopMode(config: AppConfig): string {
  if (config.dpop.enabled === false) return 'disabled';
  return config.dpop.required ? 'required' : 'optional';
}

/**
 * Where the server really listens, as a URL (IPv6 in brackets); the wildcard addresses say that
 * they mean every interface, which is the operator's choice (`HOST`), never the default.
 */
function listeningOn({ address, family, port }: AddressInfo): string {
  const url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  return address === '0.0.0.0' || address === '::' ? `${url} (every interface)` : url;
}

/**
 * Nest's logger, quieter while starting: without the "successfully started" line, which `init()`
 * prints before the port is bound (the app says it is listening itself, once it is), and without
 * Nest's own report of a start-up failure (a stack trace), which the catch at the bottom turns
 * into one line.
 */
class StartupLogger extends ConsoleLogger {
  starting = true;

  override log(text: unknown, ...rest: unknown[]): void {
    if (this.starting && rest.at(-1) === 'NestApplication') return;
    super.log(text, ...rest);
  }

  override error(text: unknown, ...rest: unknown[]): void {
    const context = rest.at(-1);
    if (this.starting && (context === 'ExceptionHandler' || context === 'NestApplication')) return;
    super.error(text, ...rest);
  }
}

async function bootstrap(config: AppConfig): Promise<void> {
  const nestLogger = new StartupLogger();
  // abortOnError: false, so that a start-up failure reaches the catch below (one line, exit 1)
  // instead of Nest's stack trace and process.abort().
  const app = configureApp(
    await NestFactory.create(AppModule.forRoot(config), {
      abortOnError: false,
      logger: nestLogger,
    }),
  );
  app.enableShutdownHooks();
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  nestLogger.starting = false;

  const address = (app.getHttpServer() as { address(): AddressInfo }).address();
  const publicUrl = config.publicUrl ? ` (public URL ${config.publicUrl})` : '';
  logger.log(`ARCP listening on ${listeningOn(address)}${publicUrl}`);
  logger.log(`DPoP ${dpopMode(config)}; storage: ${config.redis ? 'Redis' : 'memory'}`);
  if (config.signing.source === 'generated') {
    logger.warn(
      `The ${config.signing.alg} token signing key is ephemeral (generated at start-up): ` +
        'tokens do not survive a restart. Set ARCP_SIGNING_KEY_FILE to keep one.',
    );
  }
  if (config.devAgentKey !== undefined) {
    logger.warn(`AGENT_KEYS is not set: development agent key for this run: ${config.devAgentKey}`);
  }
}

const config = readConfig();
void bootstrap(config).catch((error: unknown) => {
  const known = describeStartupError(error, config.port, config.host);
  if (known !== undefined) logger.error(`Cannot start: ${known}`);
  else logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
