/** What a resource-bench server process runs. */
export type ResourceServerKind = 'dpop-only' | 'verified' | 'auth0';
export type ResourcePlatform = 'express' | 'fastify';

/** Environment of a resource-bench server process. */
export const RESOURCE_BENCH_ENV = {
  issuer: 'BENCH_RS_ISSUER',
  jwksUri: 'BENCH_RS_JWKS_URI',
  audience: 'BENCH_RS_AUDIENCE',
  port: 'BENCH_RS_PORT',
  /** The issuer's public JWK (JSON), for the token floor route. */
  tokenJwk: 'BENCH_RS_TOKEN_JWK',
} as const;

/**
 * Routes of a resource-bench server. Every request carries the same `Authorization` and `DPoP`
 * headers, whatever the route, so that the framework's work on them (reading ~1.5 KB more of
 * request, building the headers object) is in every route and cancels out of the differences.
 */
export const RESOURCE_PATHS = {
  /** No check (`@SkipDPoP()`): the framework's own cost, the baseline. */
  open: '/open',
  /** `@SkipDPoP()`, and the handler runs `crypto.verify` on the proof: one signature in place. */
  floorProof: '/floor-proof',
  /** `@SkipDPoP()`, and the handler runs `crypto.verify` on the access token. */
  floorToken: '/floor-token',
  /** The check under test (`@DPoPBound()`, or auth0's `auth()`). */
  guarded: '/r',
} as const;

/**
 * Median µs of one call inside the guard (`canActivate`, from its call until its promise settles)
 * and of the floor handlers' `crypto.verify`, over the calls since the previous reading (`NaN`
 * when none). Wall time of the main thread, per call: with the memory store nothing in the guard
 * waits on I/O, so nothing else runs in between, and the median drops the calls the OS preempted
 * (Linux reports a thread's own CPU time only to the scheduler tick, far too coarse for a call).
 */
export interface InProcessTimes {
  readonly guardUs: number;
  readonly floorProofUs: number;
  readonly floorTokenUs: number;
}

/** Messages of the server process to its parent. */
export type ResourceServerMessage =
  { type: 'ready' } | { type: 'cpu'; usage: NodeJS.CpuUsage; inProcess: InProcessTimes };

/** Commands of the parent. */
export type ResourceServerCommand = { type: 'cpu' } | { type: 'stop' };
