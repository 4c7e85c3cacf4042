/** The example's settings, read from the environment once at start-up. */
export interface McpServerConfig {
  /** `PORT`: where to listen. */
  readonly port: number;
  /** `OAUTH_ISSUER`: the authorization server; its metadata gives `jwks_uri` and introspection. */
  readonly issuer: string;
  /** `MCP_RESOURCE`: this server's resource identifier (the required `aud`), ending in `/mcp`. */
  readonly resource: string;
  /** `OAUTH_INTROSPECTION_CLIENT_ID` / `_SECRET`: accept opaque tokens by introspection. */
  readonly introspection: { readonly clientId: string; readonly clientSecret: string } | undefined;
  /** `DPOP_NONCE_REQUIRED`: server nonces (RFC 9449 §9). */
  readonly nonceRequired: boolean;
  /** `REDIS_URL`: a shared replay store; default in memory (one process). */
  readonly redisUrl: string | undefined;
}

function url(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
  } catch {
    throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  }
  return value;
}

/** Reads and checks the environment; a bad value stops the start-up with its name. */
export function mcpServerConfig(
  env: Record<string, string | undefined> = process.env,
): McpServerConfig {
  const rawPort = env.PORT ?? '3000';
  const port = Number(rawPort);
  if (!/^[0-9]+$/.test(rawPort) || port > 65535) {
    throw new Error(`PORT must be a port number, got "${rawPort}"`);
  }
  const issuer = url('OAUTH_ISSUER', env.OAUTH_ISSUER);
  const resource = url('MCP_RESOURCE', env.MCP_RESOURCE ?? `http://127.0.0.1:${port}/mcp`);
  if (new URL(resource).pathname !== '/mcp') {
    throw new Error(`MCP_RESOURCE must name the /mcp endpoint, got "${resource}"`);
  }
  const clientId = env.OAUTH_INTROSPECTION_CLIENT_ID;
  const clientSecret = env.OAUTH_INTROSPECTION_CLIENT_SECRET;
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new Error(
      'OAUTH_INTROSPECTION_CLIENT_ID and OAUTH_INTROSPECTION_CLIENT_SECRET go together',
    );
  }
  const nonce = (env.DPOP_NONCE_REQUIRED ?? 'false').trim().toLowerCase();
  if (!['true', 'false', '1', '0', ''].includes(nonce)) {
    throw new Error(`DPOP_NONCE_REQUIRED must be true or false, got "${env.DPOP_NONCE_REQUIRED}"`);
  }
  return {
    port,
    issuer,
    resource,
    introspection:
      clientId === undefined || clientSecret === undefined ? undefined : { clientId, clientSecret },
    nonceRequired: nonce === 'true' || nonce === '1',
    redisUrl: env.REDIS_URL === '' ? undefined : env.REDIS_URL,
  };
}
