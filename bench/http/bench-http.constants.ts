import type { DPoPAlgorithm } from 'nest-dpop';

/** Paths of the bench app's handlers, relative to the server's origin. */
export const BENCH_PATHS = {
  /** Behind `DPoPGuard`. */
  guarded: '/bench/agent',
  /** `@SkipDPoP()`: the baseline. */
  open: '/bench/agent-open',
  /** `@SkipDPoP()`, and the handler runs `crypto.verify` on the proof: the floor, in place. */
  floor: '/bench/agent-floor',
} as const;

/** Request header naming the proof's algorithm, so the floor handler picks its key by name. */
export const BENCH_ALG_HEADER = 'x-bench-alg';

/** Environment variable carrying the agents' public JWKs (JSON, by algorithm) to the server. */
export const BENCH_KEYS_ENV = 'BENCH_PUBLIC_JWKS';

/** Redis keys of the benchmark: its own prefix, deleted when it ends. */
export const REDIS_KEY_PREFIX = 'bench:dpop:jti:';

/** Which replay store the bench server uses. */
export type StoreKind = 'memory' | 'redis';

/** The agents' public JWKs, by algorithm. */
export type PublicJwks = Partial<Record<DPoPAlgorithm, Record<string, unknown>>>;

/** Messages from the parent to a bench server. */
export type ServerCommand = 'stop' | 'cpu';

/** Messages from a bench server to the parent. */
export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'cpu'; readonly usage: NodeJS.CpuUsage };
