import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { McpServerModule } from './mcp-server.module.js';
import { mcpServerConfig } from './mcp-server.config.js';

/**
 * The MCP server example: `npm run example:mcp` with `OAUTH_ISSUER` (and `MCP_RESOURCE`,
 * `PORT`, optionally `OAUTH_INTROSPECTION_CLIENT_ID` / `_SECRET`, `DPOP_NONCE_REQUIRED`,
 * `REDIS_URL`) set. See examples/mcp-server/README.md.
 */
async function main(): Promise<void> {
  const config = mcpServerConfig();
  const app = await NestFactory.create(McpServerModule.forConfig(config));
  app.enableShutdownHooks();
  await app.listen(config.port);
  console.log(
    `MCP server at ${config.resource} (metadata at ${new URL('/.well-known/oauth-protected-resource/mcp', config.resource).href})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
