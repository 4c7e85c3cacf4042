import { All, Controller, Req, Res } from '@nestjs/common';
import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessTokenClaims, DPoPBound, JKT, type VerifiedAccessToken } from 'nest-dpop';
import { createMcpServer, type McpCaller } from './mcp-tools.js';

/**
 * MCP over Streamable HTTP at `/mcp`, mounted in Nest. `@DPoPBound()` (with the module's
 * `accessToken` option) means that by the time a request gets here its access token was
 * verified (issuer's key or introspection, audience, expiry) and its DPoP proof came from the
 * key the token is bound to; the MCP SDK only sees the result, as `authInfo`.
 */
@Controller()
export class McpController {
  private readonly handle = toNodeHandler(createMcpHandler(() => createMcpServer()));

  @DPoPBound()
  @All('mcp')
  async mcp(
    @Req() request: IncomingMessage & { body?: unknown; auth?: AuthInfo },
    @Res() response: ServerResponse,
    @JKT() jkt: string,
    @AccessTokenClaims() token: VerifiedAccessToken,
  ): Promise<void> {
    const caller: McpCaller = {
      jkt,
      scopes: token.scopes,
      ...(token.sub !== undefined && { sub: token.sub }),
      ...(token.clientId !== undefined && { clientId: token.clientId }),
    };
    const raw = (request.headers.authorization ?? '').replace(/^\S+\s+/, '');
    request.auth = {
      token: raw,
      clientId: token.clientId ?? token.sub ?? '',
      scopes: [...token.scopes],
      ...(token.exp !== undefined && { expiresAt: token.exp }),
      extra: { caller },
    };
    await this.handle(request, response, request.body);
  }
}
