/** What a resource-bench server process runs. */
export type ResourceServerKind = 'dpop-only' | 'verified' | 'auth0';
export type ResourcePlatform = 'express' | 'fastify';

/** Environment of a resource-bench server process. */
export const RESOURCE_BENCH_ENV = {
  issuer: 'BENCH_RS_ISSUER',
  jwksUri: 'BENCH_RS_JWKS_URI',
  audience: 'BENCH_RS_AUDIENCE',
  port: 'BENCH_RS_PORT',
} as const;

/** Messages of the server process to its parent. */
export type ResourceServerMessage =
  | { type: 'ready' }
  | { type: 'cpu'; usage: NodeJS.CpuUsage }
  | { type: 'signatures'; proofUs: number; tokenUs: number };

/** Commands of the parent. */
export type ResourceServerCommand =
  | { type: 'cpu' }
  | { type: 'stop' }
  | { type: 'signatures'; proof: string; token: string; publicJwk: Record<string, unknown> };
