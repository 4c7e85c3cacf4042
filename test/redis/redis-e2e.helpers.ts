import { expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { makeProof, type TestKey } from '../support/proofs.js';
import { sleep } from '../support/redis-servers.js';

export const PROBLEMS = 'urn:nest-dpop:problem:';
/**
 * How long a jti is kept with the default options: proofTtl 120 s + clockSkew 60 s, plus the
 * one-second margin so the jti outlives its proof's last valid millisecond.
 */
export const DEFAULT_REPLAY_WINDOW_MS = 181_000;

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** `POST /items` with one DPoP proof. Never throws for an HTTP status; a network failure rejects. */
export async function postItems(base: string, proof: string): Promise<Reply> {
  const response = await fetch(`${base}/items`, { method: 'POST', headers: { DPoP: proof } });
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = { unparsable: text };
  }
  return { status: response.status, headers: response.headers, body };
}

/** A compact summary of a reply, so that a failing `toEqual` shows what came back. */
export function summary(reply: Reply): { status: number; code: unknown } {
  return { status: reply.status, code: reply.body?.code };
}

/** The RFC 7807 answer to a replayed proof. */
export function expectReplay(reply: Reply): void {
  expect({ status: reply.status, type: reply.body?.type, code: reply.body?.code }).toEqual({
    status: 401,
    type: PROBLEMS + 'dpop-invalid',
    code: 'ERR_DPOP_REPLAY',
  });
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

/** Is this the fail-closed answer of an unreachable replay store? (503, problem+json, Retry-After.) */
export function isStoreUnavailable(
  reply: Pick<Reply, 'status' | 'body'> & {
    contentType?: string | null;
    retryAfter?: string | null;
  },
): boolean {
  return (
    reply.status === 503 &&
    reply.body?.type === PROBLEMS + 'dpop-store-unavailable' &&
    reply.body?.code === 'ERR_DPOP_STORE_UNAVAILABLE' &&
    reply.body?.status === 503 &&
    (reply.contentType ?? '').startsWith('application/problem+json') &&
    reply.retryAfter === '1'
  );
}

/** The `jti` claim of a compact proof. */
export function jtiOf(proof: string): string {
  const payload = JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString('utf8')) as {
    jti: string;
  };
  return payload.jti;
}

/** What one request of a load run did. */
export interface Outcome {
  seq: number;
  /** The phase the test was in when the request was sent. */
  phase: string;
  /** Free label chosen by the proof factory (e.g. which cluster node its jti lives on). */
  label: string;
  proof: string;
  jti: string;
  target: string;
  startedAt: number;
  endedAt: number;
  status: number;
  code: unknown;
  contentType: string | null;
  retryAfter: string | null;
  body: Record<string, unknown> | undefined;
  /** A network error instead of an HTTP answer (the app died or hung up). */
  error?: string;
  /** Sent again with the server's nonce after a `use_dpop_nonce` answer (proof and jti are the retry's). */
  retried?: boolean;
}

export interface LoadOptions {
  key: TestKey;
  /** Where request `seq` goes (an instance's base URL). */
  target: (seq: number) => string;
  /** The `htu` of the proof for request `seq`. Default: the target's `/items`. */
  htu?: (seq: number, target: string) => string;
  /** A fresh jti for request `seq`, and a label for it. Default: a random UUID, label `''`. */
  jti?: (seq: number) => { jti: string; label: string };
  /** Requests in flight at once. */
  concurrency: number;
  /** Hard bound on the number of requests. */
  maxRequests: number;
  /** Each worker sends at most one request per this many milliseconds. Default 0. */
  intervalMs?: number;
}

/**
 * A bounded, steady load of valid requests, each with a fresh proof, `concurrency` at a time.
 * The test moves `phase` along as it breaks and repairs things; each outcome records the phase it
 * was sent in.
 */
export class Load {
  phase = 'before';
  readonly outcomes: Outcome[] = [];
  private seq = 0;
  private stopped = false;
  private readonly workers: Promise<void>[];

  constructor(private readonly options: LoadOptions) {
    this.workers = Array.from({ length: options.concurrency }, () => this.worker());
  }

  private async worker(): Promise<void> {
    while (!this.stopped && this.seq < this.options.maxRequests) {
      const seq = this.seq++;
      const target = this.options.target(seq);
      const phase = this.phase;
      const startedAt = Date.now();
      const pace = sleep(this.options.intervalMs ?? 0);
      let attempt = await this.send(seq, target);
      // As a conforming client does (RFC 9449 §8): a use_dpop_nonce answer is retried at once,
      // with a fresh proof carrying the nonce it handed out. Again only for a nonce not tried
      // yet: while a store recovers, a loss seen on another node starts a new epoch (and so a new
      // recovery nonce) between an answer and its retry; a nonce refused twice is a failure.
      const tried = new Set<string>();
      for (let retries = 0; retries < 3 && 'reply' in attempt && isUseNonce(attempt.reply);) {
        const nonce = attempt.reply.headers.get('dpop-nonce') ?? '';
        if (tried.has(nonce)) break;
        tried.add(nonce);
        this.nonce = nonce;
        retries++;
        attempt = { ...(await this.send(seq, target)), retried: true };
      }
      const { proof, jti, label } = attempt;
      const base = { seq, phase, label, proof, jti, target, startedAt, endedAt: Date.now() };
      if ('reply' in attempt) {
        const reply = attempt.reply;
        const nonce = reply.headers.get('dpop-nonce');
        if (nonce !== null) this.nonce = nonce;
        this.outcomes.push({
          ...base,
          retried: attempt.retried === true,
          status: reply.status,
          code: reply.body?.code,
          contentType: reply.headers.get('content-type'),
          retryAfter: reply.headers.get('retry-after'),
          body: reply.body,
        });
      } else {
        this.outcomes.push({
          ...base,
          retried: attempt.retried === true,
          status: 0,
          code: undefined,
          contentType: null,
          retryAfter: null,
          body: undefined,
          error: attempt.error,
        });
      }
      await pace;
    }
  }

  /** The last server nonce seen (a client keeps one per server and sends it along). */
  private nonce: string | undefined;

  private async send(
    seq: number,
    target: string,
  ): Promise<
    { proof: string; jti: string; label: string; retried?: boolean } & (
      { reply: Reply } | { error: string }
    )
  > {
    const { jti, label } = this.options.jti?.(seq) ?? { jti: randomUUID(), label: '' };
    const proof = await makeProof(this.options.key, {
      htm: 'POST',
      htu: this.options.htu?.(seq, target) ?? `${target}/items`,
      claims: { jti, ...(this.nonce !== undefined && { nonce: this.nonce }) },
    });
    try {
      return { proof, jti, label, reply: await postItems(target, proof) };
    } catch (error) {
      return { proof, jti, label, error: String((error as Error)?.cause ?? error) };
    }
  }

  /** Waits until `done()` holds; throws after `timeoutMs` or if the load ran out of requests. */
  async until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.seq >= this.options.maxRequests)
        throw new Error(
          `load used up its ${this.options.maxRequests} requests waiting for ${what}`,
        );
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<Outcome[]> {
    this.stopped = true;
    await Promise.all(this.workers);
    return this.outcomes.sort((a, b) => a.seq - b.seq);
  }

  count(filter: (o: Outcome) => boolean): number {
    return this.outcomes.filter(filter).length;
  }
}

/** How many outcomes fall in each `phase/label/status/code` bucket: a readable failure message. */
export function tally(
  outcomes: readonly Outcome[],
  by: (o: Outcome) => string = (o) =>
    `${o.phase} ${o.status} ${typeof o.code === 'string' ? o.code : ''}`,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[by(o)] = (counts[by(o)] ?? 0) + 1;
  return counts;
}

/** With `REDIS_E2E_DEBUG=1`, prints what a load run did, per phase and label, with latencies. */
export function debugReport(title: string, outcomes: readonly Outcome[]): void {
  if (!process.env.REDIS_E2E_DEBUG) return;
  const rows: Record<string, { n: number; maxMs: number }> = {};
  for (const o of outcomes) {
    const k = `${o.phase} ${o.label} ${o.status} ${typeof o.code === 'string' ? o.code : ''}`
      .replace(/ +/g, ' ')
      .trim();
    const row = (rows[k] ??= { n: 0, maxMs: 0 });
    row.n++;
    row.maxMs = Math.max(row.maxMs, o.endedAt - o.startedAt);
  }
  const up = outcomes.filter((o) => o.phase === 'up');
  const upAt = Math.min(...up.map((o) => o.startedAt));
  const back = Math.min(...up.filter((o) => o.status === 200).map((o) => o.endedAt));
  process.stderr.write(
    `${title}: ${outcomes.length} requests, first 200 ${back - upAt} ms after the restart\n${Object.entries(
      rows,
    )
      .map(([k, r]) => `  ${k}: ${r.n} (max ${r.maxMs} ms)`)
      .join('\n')}\n`,
  );
}

/** A `401 use_dpop_nonce` answer with a nonce to retry with (RFC 9449 §8). */
export function isUseNonce(reply: Reply): boolean {
  return (
    reply.status === 401 &&
    reply.body?.code === 'ERR_DPOP_USE_NONCE' &&
    reply.headers.get('dpop-nonce') !== null &&
    /error="use_dpop_nonce"/.test(reply.headers.get('www-authenticate') ?? '')
  );
}

/**
 * Sends fresh proofs until one is accepted, as a conforming client would: a `use_dpop_nonce`
 * answer (a RedisJtiStore on a Redis whose history it takes for lost, e.g. one that just
 * started) is retried with its nonce. A suite waits here before it measures anything.
 */
export async function untilServing(
  base: string,
  key: TestKey,
  htu = `${base}/items`,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let nonce: string | undefined;
  for (;;) {
    const proof = await makeProof(key, {
      htm: 'POST',
      htu,
      ...(nonce !== undefined && { claims: { nonce } }),
    });
    const reply = await postItems(base, proof);
    if (reply.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${base} never accepted a fresh proof`);
    if (isUseNonce(reply)) nonce = reply.headers.get('dpop-nonce')!;
    else await sleep(50);
  }
}
