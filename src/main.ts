import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { loadAppConfig, type AppConfig } from './config/app-config.js';

const logger = new Logger('ARCP');

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readConfig(): AppConfig {
  try {
    return loadAppConfig(process.env);
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

async function bootstrap(): Promise<void> {
  const config = readConfig();
  const app = configureApp(await NestFactory.create(AppModule.forRoot(config)));
  app.enableShutdownHooks();
  await app.listen(config.port);

  const { port } = (app.getHttpServer() as { address(): { port: number } }).address();
  const publicUrl = config.publicUrl ? ` (public URL ${config.publicUrl})` : '';
  logger.log(`ARCP listening on http://localhost:${port}${publicUrl}`);
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

void bootstrap().catch((error: unknown) => {
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
