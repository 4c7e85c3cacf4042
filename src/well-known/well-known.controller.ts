import { Controller, Get, Header, Inject, Req, Res } from '@nestjs/common';
import { DPOP_RESOLVED_OPTIONS, SkipDPoP, type ResolvedDPoPOptions } from 'nest-dpop';
import type { JWK } from 'jose';
import { publicBaseUrl, type BaseUrlRequest } from '../common/public-url.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ServerKeyService } from '../auth/server-key.service.js';

/** Discovery documents: public, and never behind DPoP. */
@SkipDPoP()
@Controller('.well-known')
export class WellKnownController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DPOP_RESOLVED_OPTIONS) private readonly dpop: ResolvedDPoPOptions,
    private readonly serverKey: ServerKeyService,
  ) {}

  /**
   * What a client needs to run the flow; the DPoP algorithms are the configured ones. With
   * `ARCP_PUBLIC_URL` the links come from it alone and the document may be cached by anyone.
   * Without it they come from the `Host` header, so the answer varies by Host and must not sit
   * in a shared cache (one poisoned entry would send every client elsewhere).
   */
  @Get('arcp-configuration')
  configuration(
    @Req() request: BaseUrlRequest,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): unknown },
  ): Record<string, unknown> {
    if (this.config.publicUrl !== undefined) {
      response.setHeader('Cache-Control', 'public, max-age=300');
    } else {
      response.setHeader('Cache-Control', 'private, no-store');
      response.setHeader('Vary', 'Host');
    }
    const base = publicBaseUrl(this.config.publicUrl, request, this.config.port);
    return {
      issuer: this.config.issuer,
      token_endpoint: `${base}/auth/agent/request_temp_token`,
      validation_endpoint: `${base}/auth/agent/validate_compliance`,
      validation_status_endpoint: `${base}/auth/agent/validation/{validation_id}`,
      registration_endpoint: `${base}/agents/register`,
      heartbeat_endpoint: `${base}/agents/{agent_id}/heartbeat`,
      agent_endpoint: `${base}/agents/{agent_id}`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      three_phase_registration_enabled: true,
      token_signing_alg_values_supported: [this.serverKey.alg],
      agent_types_supported: this.config.allowedAgentTypes,
      dpop_enabled: this.dpop.enabled,
      dpop_required: this.dpop.enabled && this.dpop.required,
      // RFC 9449 §5.1: advertised only when proofs are actually checked.
      ...(this.dpop.enabled && { dpop_signing_alg_values_supported: [...this.dpop.algorithms] }),
    };
  }

  /** The public key that verifies every token this server issues. */
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [await this.serverKey.publicJwk()] };
  }
}
