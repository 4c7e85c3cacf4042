import { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** What the Nest controller hands the MCP handlers (`authInfo.extra`). */
export interface McpCaller {
  /** RFC 7638 thumbprint of the caller's DPoP key (verified proof). */
  readonly jkt: string;
  readonly sub?: string;
  readonly clientId?: string;
  readonly scopes: readonly string[];
}

function callerOf(extra: Record<string, unknown> | undefined): McpCaller | undefined {
  return extra?.caller as McpCaller | undefined;
}

/**
 * The MCP server of one request (stateless Streamable HTTP): its tools read the caller that
 * nest-dpop verified (token and proof) from `ctx.http.authInfo`.
 */
export function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'nest-dpop-mcp-example', version: '0.4.0' });
  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description:
        "The caller as this server verified it: the DPoP key's thumbprint and the token's subject",
    },
    async (ctx) => {
      const caller = callerOf(ctx.http?.authInfo?.extra);
      const body = {
        jkt: caller?.jkt ?? null,
        sub: caller?.sub ?? null,
        client_id: caller?.clientId ?? null,
        scopes: caller?.scopes ?? [],
      };
      return { content: [{ type: 'text', text: JSON.stringify(body) }] };
    },
  );
  server.registerTool(
    'add',
    {
      title: 'Add',
      description: 'Adds two numbers',
      inputSchema: z.object({ a: z.number(), b: z.number() }),
    },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  return server;
}
