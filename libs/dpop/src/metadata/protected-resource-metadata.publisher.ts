import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DPOP_RESOLVED_OPTIONS } from '../options/dpop.constants.js';
import type { ResolvedDPoPOptions } from '../options/dpop-module-options.interface.js';

/**
 * Serves the RFC 9728 documents of the `protectedResource` option at their well-known paths,
 * on the application's HTTP adapter (Express or Fastify), outside the router: no global prefix,
 * no guard, no interceptor applies, since the document is public and the same for everyone.
 * The document is built once from configuration (never from a request), so it may be cached.
 */
@Injectable()
export class ProtectedResourceMetadataPublisher implements OnModuleInit {
  private published = false;

  constructor(
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly options: ResolvedDPoPOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    // Registered before Nest adds its "not found" handler (after the init hooks).
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter === undefined || this.published || !this.options.enabled) return;
    this.published = true;
    for (const resource of this.options.protectedResources) {
      adapter.get(resource.servedPath, (_request: unknown, response: unknown) => {
        adapter.setHeader(response, 'Cache-Control', 'public, max-age=3600');
        // RFC 9728 §3: clients in browsers read it too.
        adapter.setHeader(response, 'Access-Control-Allow-Origin', '*');
        adapter.reply(response, resource.document, 200);
      });
    }
  }
}
