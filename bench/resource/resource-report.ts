import type { ResourceBenchResult, Spread } from './resource.bench.js';

/** Issue 20 item 6's targets. */
export const RESOURCE_TARGETS = {
  reusedVsDpopOnly: 1.15,
  firstSeenExtraSignatures: 1,
  guardVsSignatures: 1.3,
  auth0VsOurs: 2,
} as const;

const us = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const ratio = (v: Spread) =>
  Number.isFinite(v.median)
    ? `${v.median.toFixed(2)} (${v.min.toFixed(2)}–${v.max.toFixed(2)})`
    : 'n/a';
/** ✓ when the median meets the target, ✗ when not. */
const mark = (v: Spread, ok: (x: number) => boolean) => (ok(v.median) ? ' ✓' : ' ✗');
const atMost = (limit: number) => (v: Spread) => `${ratio(v)}${mark(v, (x) => x <= limit)}`;
const atLeast = (limit: number) => (v: Spread) => `${ratio(v)}${mark(v, (x) => x >= limit)}`;

/** The section of docs/BENCHMARKS.md, with each target met (✓) or missed (✗) by the median. */
export function renderResourceMarkdown(result: ResourceBenchResult): string {
  const t = RESOURCE_TARGETS;
  const lines = [
    '## Resource server: verified access tokens (issue 20)',
    '',
    `ES256 proofs (a fresh one per request) and ES256 JWT access tokens, memory replay store; ${result.rounds} rounds of ${result.requests} requests per contender, the batches of a round back to back in an order that rotates from round to round. ` +
      'Ratios are taken round by round: median (lowest–highest). ✓/✗: the median meets the target or not. ' +
      `Targets: a reused token ≤ ${t.reusedVsDpopOnly}x the DPoP-only guard; a first-seen token ≤ ${t.firstSeenExtraSignatures} signature more; the guard ≤ ${t.guardVsSignatures}x the signature checks it must make; auth0 \`auth()\` ≥ ${t.auth0VsOurs}x ours.`,
    '',
    "**In the guard**: the median time of a call of `DPoPGuard.canActivate` (from the call until its promise settles; with the memory store nothing in it waits on I/O, so nothing else runs in between; the median leaves out the calls the OS preempted), beside the median time of one `crypto.verify` of the same proof (or token) with a key imported once, timed the same way in a route handler of the same process: the guard's cost with the framework's taken out. Per batch, then the median over rounds.",
    '',
    '| platform | connections | DPoP-only µs | reused µs | reused ÷ DPoP-only | first-seen µs | first-seen: extra signatures | proof signature µs | token signature µs | reused ÷ its signature | first-seen ÷ its 2 signatures |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { platform, connections, guard: g } of result.rows) {
    lines.push(
      `| ${platform} | ${connections} | ${us(g.dpopOnlyUs)} | ${us(g.reusedUs)} | ${atMost(t.reusedVsDpopOnly)(g.reusedVsDpopOnly)} | ${us(g.firstSeenUs)} | ${atMost(t.firstSeenExtraSignatures)(g.firstSeenExtraSignatures)} | ${us(g.proofSignatureUs)} | ${us(g.tokenSignatureUs)} | ${atMost(t.guardVsSignatures)(g.reusedVsSignature)} | ${atMost(t.guardVsSignatures)(g.firstSeenVsSignatures)} |`,
    );
  }
  lines.push(
    '',
    "**Over HTTP**: server process user CPU per request (every thread; system time, the kernel's loopback TCP, is alike for every route and charged to whichever process a packet's interrupt lands on) added over the same process's `@SkipDPoP()` route, which receives the very same `Authorization` and `DPoP` headers; the signature floors are `@SkipDPoP()` routes whose handler runs that one `crypto.verify`. auth0's `auth()` runs in a bare Express app (its own) and in a bare Fastify app through a `preHandler` that hands it the Express-like request it reads; it has no replay store and verifies the token on every request.",
    '',
    '| platform | connections | DPoP-only µs | reused µs | reused ÷ DPoP-only | first-seen µs | first-seen: extra signatures | proof floor µs | reused ÷ proof floor | auth0 `auth()` µs | auth0 ÷ ours (reused) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const { platform, connections, http: h } of result.rows) {
    lines.push(
      `| ${platform} | ${connections} | ${us(h.dpopOnlyUs)} | ${us(h.reusedUs)} | ${atMost(t.reusedVsDpopOnly)(h.reusedVsDpopOnly)} | ${us(h.firstSeenUs)} | ${atMost(t.firstSeenExtraSignatures)(h.firstSeenExtraSignatures)} | ${us(h.floorProofUs)} | ${atMost(t.guardVsSignatures)(h.reusedVsSignature)} | ${us(h.auth0Us)} | ${atLeast(t.auth0VsOurs)(h.auth0VsReused)} |`,
    );
  }
  return lines.join('\n');
}

/** The settings of `npm run bench` and `npm run bench:resource` (quick: a smoke run). */
export const RESOURCE_SETTINGS = (quick: boolean) => ({
  rounds: quick ? 1 : 5,
  requests: quick ? 600 : 1000,
  connections: [1, 16, 64],
  platforms: ['express', 'fastify'] as ('express' | 'fastify')[],
});
