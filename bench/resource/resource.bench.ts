/**
 * The resource-server benchmark (issue 20 item 6): what verifying the access token in the guard
 * costs over HTTP, beside the DPoP-only guard and auth0's `auth()` (JWT + DPoP) on the same
 * tokens and proofs, at several connection counts, on Express and Fastify, in one run.
 *
 * Every figure is server CPU per request added over the same process's unguarded route, in the
 * same round (medians over rounds):
 * - `dpop-only`: DPoPGuard without the `accessToken` option (cnf.jkt read, token not verified);
 * - `reused`: with the `accessToken` option, one token for every request (the claims cache);
 * - `first-seen`: a new token on every request (one token signature more);
 * - `auth0`: `auth()` on Express, tokens from the same issuer key set (no replay store).
 * Signatures: the in-process cost of one `node:crypto` verification of the proof (ES256) and of
 * the token (ES256), timed in the server process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { makeBenchKey, mintProofs, type BenchKey } from '../lib/proof-factory.js';
import { median } from '../lib/stats.js';
import {
  RESOURCE_BENCH_ENV,
  type ResourcePlatform,
  type ResourceServerCommand,
  type ResourceServerKind,
  type ResourceServerMessage,
} from './resource-bench.constants.js';

const SERVER = fileURLToPath(new URL('./resource-server.js', import.meta.url));

/** One platform and connection count: µs of server CPU added per request, and the ratios. */
export interface ResourceRow {
  readonly platform: ResourcePlatform;
  readonly connections: number;
  readonly dpopOnlyUs: number;
  readonly reusedUs: number;
  readonly firstSeenUs: number;
  /** auth0 `auth()` (Express only). */
  readonly auth0Us: number | undefined;
  /** `reused ÷ dpop-only`, round by round (target ≤ 1.15). */
  readonly reusedVsDpopOnly: number;
  /** `(first-seen − reused) ÷ one token signature` (target ≤ 1). */
  readonly firstSeenExtraSignatures: number;
  /** `reused ÷ the proof's signature` (target ≤ 1.3). */
  readonly reusedVsSignature: number;
  /** `auth0 ÷ reused`, round by round (target ≥ 2). */
  readonly auth0VsReused: number | undefined;
}

export interface ResourceBenchResult {
  readonly rows: readonly ResourceRow[];
  /** In-server µs of one ES256 verification of a proof and of a token. */
  readonly proofSignatureUs: number;
  readonly tokenSignatureUs: number;
  readonly rounds: number;
  readonly requests: number;
}

export interface ResourceBenchOptions {
  readonly rounds: number;
  readonly requests: number;
  readonly connections: readonly number[];
  readonly platforms: readonly ResourcePlatform[];
  readonly log: (line: string) => void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The issuer: an ES256 key, its JWK Set served on loopback, tokens signed with node:crypto. */
class BenchIssuer {
  readonly kid = 'bench-as-es256';
  private readonly pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly publicJwk = {
    ...(this.pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
    kid: this.kid,
    alg: 'ES256',
    use: 'sig',
  };
  private server!: Server;
  issuer = '';
  jwksUri = '';

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [this.publicJwk] }));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}/`;
    this.jwksUri = `http://127.0.0.1:${port}/jwks`;
  }

  stop(): void {
    this.server.close();
  }

  /** An RFC 9068 access token bound to `jkt`, about the size an authorization server makes. */
  token(jkt: string, audience: string): string {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input =
      b64({ alg: 'ES256', typ: 'at+jwt', kid: this.kid }) +
      '.' +
      b64({
        iss: this.issuer,
        sub: 'agent-7f3c2a91',
        aud: audience,
        client_id: 'bench-agent-client',
        scope: 'agents:register agents:read',
        iat: now,
        exp: now + 3600,
        jti: randomUUID(),
        cnf: { jkt },
      });
    const signature = sign('sha256', Buffer.from(input), {
      key: this.pair.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }
}

/** A server process of the benchmark. */
class ResourceServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly base: string,
  ) {}

  static async start(
    kind: ResourceServerKind,
    platform: ResourcePlatform,
    issuer: BenchIssuer,
    audienceOf: (base: string) => string,
  ): Promise<ResourceServer> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = fork(SERVER, [kind, platform], {
      env: {
        ...process.env,
        [RESOURCE_BENCH_ENV.issuer]: issuer.issuer,
        [RESOURCE_BENCH_ENV.jwksUri]: issuer.jwksUri,
        [RESOURCE_BENCH_ENV.audience]: audienceOf(base),
        [RESOURCE_BENCH_ENV.port]: String(port),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [message] = (await once(child, 'message')) as [ResourceServerMessage];
    if (message.type !== 'ready') throw new Error(`${kind} server did not start`);
    return new ResourceServer(child, base);
  }

  private ask(command: ResourceServerCommand): Promise<ResourceServerMessage> {
    this.child.send(command);
    return once(this.child, 'message').then(([m]) => m as ResourceServerMessage);
  }

  async cpuUs(): Promise<number> {
    const message = await this.ask({ type: 'cpu' });
    if (message.type !== 'cpu') throw new Error('unexpected answer');
    return message.usage.user + message.usage.system;
  }

  async signatures(proof: string, token: string, publicJwk: Record<string, unknown>) {
    const message = await this.ask({ type: 'signatures', proof, token, publicJwk });
    if (message.type !== 'signatures') throw new Error('unexpected answer');
    return message;
  }

  async stop(): Promise<void> {
    this.child.send({ type: 'stop' } satisfies ResourceServerCommand);
    await once(this.child, 'exit');
  }
}

/** One timed run: `amount` requests, each with the next headers; fails unless all are 2xx. */
async function load(
  url: string,
  headersOf: (index: number) => Record<string, string>,
  amount: number,
  connections: number,
): Promise<void> {
  let next = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        pipelining: 1,
        amount,
        sampleInt: 100,
        requests: [
          {
            method: 'GET',
            setupRequest(request) {
              request.headers = { ...request.headers, ...headersOf(next++) };
              return request;
            },
          },
        ],
      },
      (error, summary) => (error ? reject(error as Error) : resolve(summary)),
    );
  });
  if (result.non2xx !== 0 || result.errors !== 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors ` +
        `(status codes ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
}

/** Server CPU µs per request of one run. */
async function measure(
  server: ResourceServer,
  path: string,
  headersOf: (index: number) => Record<string, string>,
  amount: number,
  connections: number,
): Promise<number> {
  const before = await server.cpuUs();
  await load(`${server.base}${path}`, headersOf, amount, connections);
  return ((await server.cpuUs()) - before) / amount;
}

/** Fresh proofs (one per request, with `ath`) and the tokens they go with. */
function traffic(
  key: BenchKey,
  server: ResourceServer,
  count: number,
  tokenOf: (i: number) => string,
): (index: number) => Record<string, string> {
  const tokens = Array.from({ length: count }, (_, i) => tokenOf(i));
  const proofs = mintProofs(key, { htm: 'GET', htu: `${server.base}/r` }, count, (i) => tokens[i]!);
  return (i) => ({ authorization: `DPoP ${tokens[i % count]!}`, dpop: proofs[i % count]! });
}

export async function benchResource(options: ResourceBenchOptions): Promise<ResourceBenchResult> {
  const { rounds, requests, log } = options;
  const issuer = new BenchIssuer();
  await issuer.start();
  const key = makeBenchKey('ES256');
  const audienceOf = (base: string) => `${base}/`;
  const rows: ResourceRow[] = [];
  let signatures = { proofUs: Number.NaN, tokenUs: Number.NaN };
  try {
    for (const platform of options.platforms) {
      const dpopOnly = await ResourceServer.start('dpop-only', platform, issuer, audienceOf);
      const verified = await ResourceServer.start('verified', platform, issuer, audienceOf);
      const auth0 =
        platform === 'express'
          ? await ResourceServer.start('auth0', 'express', issuer, audienceOf)
          : undefined;
      try {
        const none = () => ({});
        if (Number.isNaN(signatures.proofUs)) {
          const token = issuer.token(key.jkt, audienceOf(verified.base));
          const [proof] = mintProofs(
            key,
            { htm: 'GET', htu: `${verified.base}/r` },
            1,
            () => token,
          );
          signatures = await verified.signatures(proof!, token, issuer.publicJwk);
        }
        for (const connections of options.connections) {
          const samples: Record<string, number[]> = {
            dpopOnly: [],
            reused: [],
            firstSeen: [],
            auth0: [],
            reusedVsDpopOnly: [],
            auth0VsReused: [],
          };
          const extra = 2 * connections;
          for (let round = 0; round <= rounds; round++) {
            // Round 0 warms up (JIT, the JWK Set fetched once, connections) and is not counted.
            const amount = round === 0 ? Math.ceil(requests / 4) : requests;
            const count = amount + extra;
            const run = (
              server: ResourceServer,
              path: string,
              h: (i: number) => Record<string, string>,
            ) => measure(server, path, h, amount, connections);
            const reusedToken = (s: ResourceServer) => {
              const t = issuer.token(key.jkt, audienceOf(s.base));
              return () => t;
            };
            const dOpen = await run(dpopOnly, '/open', none);
            const dR = await run(
              dpopOnly,
              '/r',
              traffic(key, dpopOnly, count, reusedToken(dpopOnly)),
            );
            const vOpen = await run(verified, '/open', none);
            const vR = await run(
              verified,
              '/r',
              traffic(key, verified, count, reusedToken(verified)),
            );
            const vFirst = await run(
              verified,
              '/r',
              traffic(key, verified, count, () => issuer.token(key.jkt, audienceOf(verified.base))),
            );
            let aAdded: number | undefined;
            if (auth0 !== undefined) {
              const aOpen = await run(auth0, '/open', none);
              aAdded =
                (await run(auth0, '/r', traffic(key, auth0, count, reusedToken(auth0)))) - aOpen;
            }
            if (round === 0) continue;
            const dAdded = dR - dOpen;
            const vAdded = vR - vOpen;
            samples.dpopOnly!.push(dAdded);
            samples.reused!.push(vAdded);
            samples.firstSeen!.push(vFirst - vOpen);
            samples.reusedVsDpopOnly!.push(vAdded / dAdded);
            if (aAdded !== undefined) {
              samples.auth0!.push(aAdded);
              samples.auth0VsReused!.push(aAdded / vAdded);
            }
          }
          const m = (name: string) =>
            samples[name]!.length === 0 ? undefined : median(samples[name]!);
          const reusedUs = m('reused')!;
          const row: ResourceRow = {
            platform,
            connections,
            dpopOnlyUs: m('dpopOnly')!,
            reusedUs,
            firstSeenUs: m('firstSeen')!,
            auth0Us: m('auth0'),
            reusedVsDpopOnly: m('reusedVsDpopOnly')!,
            firstSeenExtraSignatures: (m('firstSeen')! - reusedUs) / signatures.tokenUs,
            reusedVsSignature: reusedUs / signatures.proofUs,
            auth0VsReused: m('auth0VsReused'),
          };
          rows.push(row);
          log(`  ${describeRow(row)}`);
        }
      } finally {
        await dpopOnly.stop();
        await verified.stop();
        await auth0?.stop();
      }
    }
  } finally {
    issuer.stop();
  }
  return {
    rows,
    proofSignatureUs: signatures.proofUs,
    tokenSignatureUs: signatures.tokenUs,
    rounds,
    requests,
  };
}

function describeRow(row: ResourceRow): string {
  const f = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));
  return (
    `${row.platform} ×${row.connections}: dpop-only ${f(row.dpopOnlyUs)} µs, verified reused ` +
    `${f(row.reusedUs)} µs (${row.reusedVsDpopOnly.toFixed(2)}x), first-seen ${f(row.firstSeenUs)} µs ` +
    `(+${row.firstSeenExtraSignatures.toFixed(2)} signatures), auth0 ${f(row.auth0Us)} µs` +
    (row.auth0VsReused === undefined ? '' : ` (${row.auth0VsReused.toFixed(2)}x ours)`)
  );
}

/** The section of docs/BENCHMARKS.md, with each target met or missed. */
export function renderResourceMarkdown(result: ResourceBenchResult): string {
  const f = (v: number | undefined, d = 1) => (v === undefined ? 'n/a' : v.toFixed(d));
  const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? ' ✓' : ' ✗');
  const lines = [
    '## Resource server: verified access tokens (issue 20)',
    '',
    `Server CPU per request added over the same process's unguarded route, median of ${result.rounds} rounds of ${result.requests} requests, ES256 proofs and ES256 tokens (one fresh proof per request, memory replay store). ` +
      `One ES256 verification in the server process: proof ${f(result.proofSignatureUs)} µs, token ${f(result.tokenSignatureUs)} µs. ` +
      'Targets: reused token ≤ 1.15x DPoP-only; first-seen ≤ 1 signature more; reused ≤ 1.3x the signature checks it must make (one); auth0 `auth()` ≥ 2x ours.',
    '',
    '| platform | connections | DPoP-only µs | verified, reused µs | ÷ DPoP-only | first-seen µs | extra signatures | reused ÷ proof signature | auth0 `auth()` µs | auth0 ÷ ours |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.platform} | ${r.connections} | ${f(r.dpopOnlyUs)} | ${f(r.reusedUs)} | ${f(r.reusedVsDpopOnly, 2)}${mark(r.reusedVsDpopOnly <= 1.15)} | ${f(r.firstSeenUs)} | ${f(r.firstSeenExtraSignatures, 2)}${mark(r.firstSeenExtraSignatures <= 1)} | ${f(r.reusedVsSignature, 2)}${mark(r.reusedVsSignature <= 1.3)} | ${f(r.auth0Us)} | ${f(r.auth0VsReused, 2)}${mark(r.auth0VsReused === undefined ? undefined : r.auth0VsReused >= 2)} |`,
    );
  }
  return lines.join('\n');
}
