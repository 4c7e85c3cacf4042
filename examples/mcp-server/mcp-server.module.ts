import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DPoPGuard, DPoPModule, RedisJtiStore, type DPoPModuleOptions } from 'nest-dpop';
import { McpController } from './mcp.controller.js';
import type { McpServerConfig } from './mcp-server.config.js';

/** The DPoP options of the example: a DPoP resource server in one import. */
export function mcpDPoPOptions(config: McpServerConfig, redis?: Redis): DPoPModuleOptions {
  const resource = new URL(config.resource);
  return {
    required: true,
    publicUrl: resource.origin,
    accessToken: {
      issuer: config.issuer,
      audience: config.resource,
      ...(config.introspection !== undefined && { introspection: config.introspection }),
    },
    protectedResource: {
      resource: config.resource,
      authorization_servers: [config.issuer],
      resource_name: 'nest-dpop MCP example',
      dpop_bound_access_tokens_required: true,
    },
    ...(config.nonceRequired && { nonce: true }),
    ...(redis !== undefined && { store: new RedisJtiStore(redis) }),
  };
}

/** The example's root module. */
@Module({})
export class McpServerModule {
  static forConfig(config: McpServerConfig): DynamicModule {
    const redis =
      config.redisUrl === undefined
        ? undefined
        : new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
    return {
      module: McpServerModule,
      imports: [DPoPModule.forRoot(mcpDPoPOptions(config, redis))],
      controllers: [McpController],
      providers: [{ provide: APP_GUARD, useExisting: DPoPGuard }],
    };
  }
}
