/**
 * Section 7 of the benchmark: the DPoP proof checks of nest-dpop beside two published peers,
 * auth0's `express-oauth2-jwt-bearer` (its `auth()` middleware) and `oidc-provider` (its userinfo
 * endpoint, in-process through `light-my-request`: it has no smaller public entry point), on
 * proofs made with the same key, header and claims in the same run; and what a listener on the
 * guard's events costs.
 *
 * Both peers authenticate the access token as part of the same call (auth0: an HS256 JWT;
 * oidc-provider: an opaque token looked up in its memory adapter), so each is also timed with
 * DPoP off on an unbound Bearer token: the difference is what their DPoP checks cost.
 */
import { createHash, randomUUID, sign, verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { ExecutionContext, INestApplicationContext } from '@nestjs/common';
import { SignJWT } from 'jose';
import { auth } from 'express-oauth2-jwt-bearer';
import Provider from 'oidc-provider';
import { inject } from 'light-my-request';
import { Registry } from 'prom-client';
import {
  DPoPEvents,
  DPoPGuard,
  DPoPModule,
  DPoPProofVerifier,
  InMemoryJtiStore,
  type DPoPAlgorithm,
  type DPoPModuleOptions,
} from 'nest-dpop';
import { PrometheusDPoPListener } from 'nest-dpop/prometheus';
import { makeBenchKey, type BenchKey } from '../lib/proof-factory.js';
import { collectGarbage, median } from '../lib/stats.js';

const ORIGIN = 'https://bench.local';
const PATH = '/me';
const HTU = ORIGIN + PATH;

/** Median CPU µs per request, per contender. */
export interface PeerCosts {
  /** `crypto.verify` of the proof's signing input with a prepared key. */
  readonly floorUs: number;
  /** `DPoPProofVerifier.verify()` with an access token and its binding, memory store. */
  readonly verifyUs: number;
  /** `DPoPGuard.canActivate()` (token binding read from the JWT, proof, memory store). */
  readonly guardUs: number;
  /** The same guard with one no-op event listener. */
  readonly guardListenerUs: number;
  /** The same guard with the Prometheus recipe listening. */
  readonly guardPrometheusUs: number;
  /** auth0 `auth()` middleware, DPoP required, HS256 access token bound with `cnf.jkt`. */
  readonly auth0Us: number;
  /** The same middleware with DPoP off and an unbound Bearer token. */
  readonly auth0BearerUs: number;
  /** oidc-provider `GET /me` with a DPoP-bound access token and its proof. */
  readonly oidcUs: number;
  /** oidc-provider `GET /me` with an unbound Bearer token. */
  readonly oidcBearerUs: number;
}

export interface PeerResult {
  readonly alg: DPoPAlgorithm;
  readonly rounds: number;
  /** Guard with a no-op listener ÷ guard without, median of the per-round ratios. */
  readonly listenerRatio: number;
  /** Guard with the Prometheus listener ÷ guard without, likewise. */
  readonly prometheusRatio: number;
  /** `DPoPEvents.accepted()` alone, ns per call: nobody listening, and one no-op listener. */
  readonly hook: { readonly idleNs: number; readonly listenerNs: number };
  /** Requests per batch, per contender. */
  readonly batches: Readonly<Record<keyof PeerCosts, number>>;
  readonly cpu: PeerCosts;
}

interface Contender {
  readonly name: keyof PeerCosts;
  /**
   * Whether it takes the round's shared nest-dpop proofs (each of these contenders has a
   * replay store of its own, so the very same proofs serve all of them).
   */
  readonly shared?: boolean;
  /** Makes the inputs of `count` calls (not timed); `proofs` is the round's shared list. */
  prepare(count: number, proofs: readonly string[]): unknown[];
  /** One call. Throws if the contender refused a valid request. */
  run(input: unknown): void | Promise<void>;
}

/** A proof for `htm`/`htu` with `ath` of `token`, signed with node:crypto (minting is not timed). */
function mintProof(key: BenchKey, token: string | undefined): string {
  const claims = {
    jti: randomUUID(),
    htm: 'GET',
    htu: HTU,
    iat: Math.floor(Date.now() / 1000),
    ...(token !== undefined && { ath: createHash('sha256').update(token).digest('base64url') }),
  };
  const input = `${key.headerSegment}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign(key.digest, Buffer.from(input, 'latin1'), key.signKey).toString('base64url')}`;
}

function thumbprint(jwk: Record<string, unknown>): string {
  const members =
    jwk.kty === 'OKP'
      ? ['crv', 'kty', 'x']
      : jwk.kty === 'EC'
        ? ['crv', 'kty', 'x', 'y']
        : ['e', 'kty', 'n'];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

const many = <T>(count: number, make: () => T): T[] => Array.from({ length: count }, make);

/** The shared oidc-provider instance (one per run; clients and tokens per algorithm). */
let oidc:
  { provider: Provider; handler: (req: IncomingMessage, res: ServerResponse) => void } | undefined;

async function oidcProvider() {
  if (oidc !== undefined) return oidc;
  const provider = new Provider(ORIGIN, {
    clients: [
      {
        client_id: 'bench',
        client_secret: 'bench-secret-'.repeat(4),
        grant_types: ['authorization_code'],
        redirect_uris: ['https://client.bench.local/cb'],
        response_types: ['code'],
      },
    ],
    enabledJWA: { dPoPSigningAlgValues: ['EdDSA', 'ES256', 'RS256'] },
    ttl: { AccessToken: 3600, Grant: 3600 },
    features: {
      dPoP: { enabled: true },
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
    },
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
  });
  provider.proxy = true;
  oidc = { provider, handler: provider.callback() };
  return oidc;
}

async function oidcToken(jkt: string | undefined): Promise<string> {
  const { provider } = await oidcProvider();
  const client = await provider.Client.find('bench');
  const grant = new provider.Grant({ accountId: 'agent-1', clientId: 'bench' });
  grant.addOIDCScope('openid');
  const grantId = await grant.save();
  const token = new provider.AccessToken({
    accountId: 'agent-1',
    client,
    scope: 'openid',
    grantId,
    ...(jkt !== undefined && { jkt }),
  });
  return token.save();
}

/** A minimal Express-like request for auth0's middleware, with what it reads. */
function expressRequest(headers: Record<string, string>) {
  return {
    headers,
    method: 'GET',
    protocol: 'https',
    originalUrl: PATH,
    url: PATH,
    query: {},
    body: undefined,
    socket: { remoteAddress: '127.0.0.1' },
    get: (name: string) => headers[name.toLowerCase()],
    is: () => false,
  };
}

function runMiddleware(
  middleware: ReturnType<typeof auth>,
  req: ReturnType<typeof expressRequest>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    void middleware(req, {}, (error?: unknown) =>
      error === undefined ? resolve() : reject(error),
    );
  });
}

/** A fake HTTP ExecutionContext: the guard reads the type, the handler, the class and the request. */
class BenchController {
  me(): void {}
}
function httpContext(request: unknown): ExecutionContext {
  const http = {
    getRequest: () => request,
    getResponse: () => ({ setHeader() {} }),
    getNext: () => undefined,
  };
  return {
    getType: () => 'http',
    getHandler: () => BenchController.prototype.me,
    getClass: () => BenchController,
    switchToHttp: () => http,
    getArgs: () => [request, {}],
    getArgByIndex: (i: number) => [request, {}][i],
  } as unknown as ExecutionContext;
}

async function guardApp(options: DPoPModuleOptions): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    DPoPModule.forRoot({
      publicUrl: ORIGIN,
      logRefusals: false,
      // Counted on every proof, never reached by the load.
      proofBudget: { perClient: 1e9, perKey: 1e9 },
      ...options,
    }),
    { logger: false },
  );
}

async function contenders(
  key: BenchKey,
  apps: INestApplicationContext[],
): Promise<{ list: Contender[]; mintShared: (count: number) => string[] }> {
  const jkt = thumbprint(key.jwk);
  const fail = (name: string, error?: unknown): never => {
    throw new Error(`peer bench: ${name} refused a valid ${key.alg} request: ${String(error)}`);
  };

  // nest-dpop: the guard reads cnf.jkt from the JWT's payload (the application verifies it).
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const nestToken = `${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${b64({ sub: 'agent-1', cnf: { jkt } })}.c2ln`;
  const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), { algorithms: [key.alg] });
  const guards: Record<'plain' | 'listener' | 'prometheus', DPoPGuard> = {} as never;
  for (const [name, listeners] of [
    ['plain', []],
    ['listener', [{ onDPoPEvent: () => undefined }]],
    ['prometheus', [new PrometheusDPoPListener({ registry: new Registry() })]],
  ] as const) {
    const app = await guardApp({ algorithms: [key.alg], listeners: [...listeners] });
    apps.push(app);
    guards[name] = app.get(DPoPGuard);
  }
  const guardContender = (name: keyof PeerCosts, guard: DPoPGuard): Contender => ({
    name,
    shared: true,
    prepare: (_count, proofs) =>
      proofs.map((dpop) => ({
        method: 'GET',
        url: PATH,
        headers: { authorization: `DPoP ${nestToken}`, dpop },
        socket: { remoteAddress: '127.0.0.1' },
      })),
    async run(request) {
      if (!(await guard.canActivate(httpContext(request)))) fail(name);
    },
  });

  // auth0: HS256 access tokens, verified by the middleware with jose.
  const secret = new TextEncoder().encode('bench-secret-'.repeat(4));
  const jwt = (claims: Record<string, unknown>) =>
    new SignJWT({ sub: 'agent-1', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://issuer.bench.local/')
      .setAudience('bench')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);
  const auth0Bound = await jwt({ cnf: { jkt } });
  const auth0Plain = await jwt({});
  const auth0Options = {
    issuer: 'https://issuer.bench.local/',
    audience: 'bench',
    secret: 'bench-secret-'.repeat(4),
    tokenSigningAlg: 'HS256',
  };
  const auth0Dpop = auth({ ...auth0Options, dpop: { enabled: true, required: true } });
  const auth0Off = auth({ ...auth0Options, dpop: { enabled: false } });

  // oidc-provider: opaque tokens in its memory adapter; userinfo checks proof, ath and binding.
  const { handler } = await oidcProvider();
  const oidcBound = await oidcToken(jkt);
  const oidcPlain = await oidcToken(undefined);
  const oidcCall = async (name: string, headers: Record<string, string>) => {
    const res = await inject(handler, {
      method: 'GET',
      url: PATH,
      headers: { host: 'bench.local', 'x-forwarded-proto': 'https', ...headers },
    });
    if (res.statusCode !== 200) fail(name, `${res.statusCode} ${res.payload}`);
  };

  const list: Contender[] = [
    {
      name: 'floorUs',
      shared: true,
      prepare: (_count, proofs) =>
        proofs.map((proof) => {
          const dot = proof.lastIndexOf('.');
          return [
            Buffer.from(proof.slice(0, dot), 'latin1'),
            Buffer.from(proof.slice(dot + 1), 'base64url'),
          ];
        }),
      run(input) {
        const [data, signature] = input as [Buffer, Buffer];
        if (!verify(key.digest, data, key.verifyKey, signature)) fail('crypto.verify');
      },
    },
    {
      name: 'verifyUs',
      shared: true,
      prepare: (_count, proofs) => [...proofs],
      async run(proof) {
        await verifier.verify({
          proof: proof as string,
          method: 'GET',
          url: HTU,
          accessToken: nestToken,
          expectedJkt: jkt,
        });
      },
    },
    guardContender('guardUs', guards.plain),
    guardContender('guardListenerUs', guards.listener),
    guardContender('guardPrometheusUs', guards.prometheus),
    {
      name: 'auth0Us',
      prepare: (count) =>
        many(count, () =>
          expressRequest({
            host: 'bench.local',
            authorization: `DPoP ${auth0Bound}`,
            dpop: mintProof(key, auth0Bound),
          }),
        ),
      run: (req) => runMiddleware(auth0Dpop, req as never).catch((e: unknown) => fail('auth0', e)),
    },
    {
      name: 'auth0BearerUs',
      prepare: (count) =>
        many(count, () =>
          expressRequest({ host: 'bench.local', authorization: `Bearer ${auth0Plain}` }),
        ),
      run: (req) =>
        runMiddleware(auth0Off, req as never).catch((e: unknown) => fail('auth0 Bearer', e)),
    },
    {
      name: 'oidcUs',
      prepare: (count) => many(count, () => mintProof(key, oidcBound)),
      run: (proof) =>
        oidcCall('oidc-provider', { authorization: `DPoP ${oidcBound}`, dpop: proof as string }),
    },
    {
      name: 'oidcBearerUs',
      prepare: (count) => many(count, () => undefined),
      run: () => oidcCall('oidc-provider Bearer', { authorization: `Bearer ${oidcPlain}` }),
    },
  ];
  return { list, mintShared: (count) => many(count, () => mintProof(key, nestToken)) };
}

/** CPU µs per call of one batch (process CPU time, all threads: jose's WebCrypto runs on libuv's pool). */
async function timeBatch(contender: Contender, inputs: unknown[]): Promise<number> {
  collectGarbage();
  const cpu = process.cpuUsage();
  for (const input of inputs) await contender.run(input);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / inputs.length;
}

/**
 * One algorithm: every contender's batch sized to about `batchMs` from a probe, then `rounds`
 * interleaved rounds (the starting contender rotates, round 0 is a warm-up), medians reported.
 */
export async function benchPeersAlgorithm(
  alg: DPoPAlgorithm,
  rounds: number,
  batchMs = 30,
): Promise<PeerResult> {
  const key = makeBenchKey(alg);
  const apps: INestApplicationContext[] = [];
  try {
    const { list, mintShared } = await contenders(key, apps);
    const batches = {} as Record<keyof PeerCosts, number>;
    for (const contender of list) {
      const probe = contender.prepare(50, mintShared(50));
      const start = process.hrtime.bigint();
      for (const input of probe) await contender.run(input);
      const us = Number(process.hrtime.bigint() - start) / 1000 / probe.length;
      batches[contender.name] = Math.max(30, Math.min(1000, Math.round((batchMs * 1000) / us)));
    }
    // The shared proofs come in one batch size: the guard's.
    for (const contender of list) if (contender.shared) batches[contender.name] = batches.guardUs;
    const samples = new Map(list.map((c) => [c.name, [] as number[]]));
    for (let round = 0; round <= rounds; round++) {
      const shared = mintShared(batches.guardUs);
      for (let i = 0; i < list.length; i++) {
        const contender = list[(round + i) % list.length]!;
        const inputs = contender.prepare(batches[contender.name], shared);
        const us = await timeBatch(contender, inputs);
        if (round > 0) samples.get(contender.name)!.push(us);
      }
    }
    const cpu = Object.fromEntries(
      list.map((c) => [c.name, median(samples.get(c.name)!)]),
    ) as unknown as PeerCosts;
    // Round by round, so that a slow stretch of the machine falls on both sides of a ratio.
    const paired = (name: keyof PeerCosts) => {
      const base = samples.get('guardUs')!;
      return median(samples.get(name)!.map((us, r) => us / base[r]!));
    };
    return {
      alg,
      rounds,
      batches,
      cpu,
      listenerRatio: paired('guardListenerUs'),
      prometheusRatio: paired('guardPrometheusUs'),
      hook: benchHook(rounds),
    };
  } finally {
    for (const app of apps) await app.close();
  }
}

/**
 * The event hook on its own: what the guard's `accepted()` call costs per request with nobody
 * listening (one boolean test, no event built) and with one no-op listener (the event built and
 * handed over), interleaved, median ns per call.
 */
function benchHook(rounds: number): { idleNs: number; listenerNs: number } {
  const base = { listeners: [], logRefusals: false } as never;
  const idle = new DPoPEvents(base);
  const busy = new DPoPEvents(base);
  busy.subscribe({ onDPoPEvent: () => undefined });
  const request = { method: 'GET', url: PATH, headers: {}, socket: { remoteAddress: '127.0.0.1' } };
  const proof = { jkt: 'bench' } as never;
  const context = httpContext(request);
  const calls = 200_000;
  const time = (events: DPoPEvents) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) events.accepted(context, request, proof, events.start());
    return Number(process.hrtime.bigint() - start) / calls;
  };
  const idleNs: number[] = [];
  const listenerNs: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const a = time(idle);
    const b = time(busy);
    if (round > 0) {
      idleNs.push(a);
      listenerNs.push(b);
    }
  }
  return { idleNs: median(idleNs), listenerNs: median(listenerNs) };
}
