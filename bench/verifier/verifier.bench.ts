import { createPublicKey, verify } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import {
  DPoPProofVerifier,
  InMemoryJtiStore,
  type DPoPAlgorithm,
  type DPoPVerifyInput,
} from 'nest-dpop';
import {
  makeBenchKey,
  mintAccessToken,
  mintProofs,
  type BenchKey,
  type ProofTarget,
} from '../lib/proof-factory.js';
import { collectGarbage, median } from '../lib/stats.js';
import { boundJkt } from '../lib/token-binding.js';

/** Median cost of one proof, in microseconds, per contender. */
export interface VerifierCosts {
  /** `crypto.verify` of the signing input with a prepared key: nothing checks a proof for less. */
  readonly floorUs: number;
  /** The library's `check()`: every check but the replay store, key cache warm. */
  readonly checkUs: number;
  /**
   * A request with a DPoP-bound JWT access token, as the guard handles it: the default binding
   * reader (`cnf.jkt`, cached per token: bench/lib/token-binding.ts), then `check()` with `accessToken` (so `ath`) and
   * `expectedJkt`. One token for all proofs, as an agent reuses it until it expires.
   */
  readonly checkBoundUs: number;
  /** The same with a token never seen recently for every proof (an agent per request). */
  readonly checkNewTokenUs: number;
  /** `check()` with `keyCacheSize: 0`: every proof parses and imports its key again. */
  readonly checkNoCacheUs: number;
  /** The library's `verify()` with an `InMemoryJtiStore`: what the guard runs. */
  readonly verifyUs: number;
  /** The common approach: `jose.jwtVerify(proof, EmbeddedJWK)` plus `calculateJwkThumbprint`. */
  readonly joseUs: number;
  /** `crypto.createPublicKey` of the proof JWK alone: what the key cache saves on a hit. */
  readonly importUs: number;
}

/** The verifier microbenchmark for one algorithm. */
export interface VerifierResult {
  readonly alg: DPoPAlgorithm;
  /** Proofs per timed batch. */
  readonly batch: number;
  readonly rounds: number;
  /** Process CPU time (all threads: jose's WebCrypto runs on libuv's pool), blind to preemption. */
  readonly cpu: VerifierCosts;
  /** Wall-clock time, for comparison. */
  readonly wall: VerifierCosts;
}

/** How long one timed batch of the library's `check()` should take; others scale with it. */
const BATCH_TARGET_MS = 30;
const TARGET: ProofTarget = { htm: 'POST', htu: 'https://bench.local/agents/register' };

/** One side of the comparison; `run` does `count` proofs and must not share proofs with others. */
interface Contender {
  readonly name: keyof VerifierCosts;
  run(count: number): void | Promise<void>;
}

function input(proof: string): DPoPVerifyInput {
  return { proof, method: TARGET.htm, url: TARGET.htu };
}

/**
 * Distinct tokens the new-token contender cycles through, in order: more than twice what any
 * cache of the library holds (1,000 entries), so each token is gone before it comes round again.
 */
const DISTINCT_TOKENS = 2_048;

/** Cycles through its own proofs: for contenders that keep no replay state. */
function cycler<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => {
    const item = items[next]!;
    next = next + 1 === items.length ? 0 : next + 1;
    return item;
  };
}

function verifierOptions(alg: DPoPAlgorithm, keyCacheSize?: number) {
  // A long proofTtl only so that proofs minted at the start stay valid for the whole run; it
  // changes no work done per proof.
  return { algorithms: [alg], proofTtl: 3600, ...(keyCacheSize !== undefined && { keyCacheSize }) };
}

function contenders(
  key: BenchKey,
  batch: number,
  rounds: number,
  store: InMemoryJtiStore,
): Contender[] {
  const { alg, digest, verifyKey } = key;
  const fail = (name: string): never => {
    throw new Error(`verifier bench: ${name} rejected a valid ${alg} proof`);
  };

  // Each contender gets proofs of its own, so none of them sees another's (cached) work.
  const floorParts = cycler(
    mintProofs(key, TARGET, batch).map((proof) => {
      const dot = proof.lastIndexOf('.');
      return {
        data: Buffer.from(proof.slice(0, dot), 'latin1'),
        signature: Buffer.from(proof.slice(dot + 1), 'base64url'),
      };
    }),
  );
  const checkInputs = cycler(mintProofs(key, TARGET, batch).map(input));
  const token = mintAccessToken(key.jkt);
  const boundProofs = cycler(mintProofs(key, TARGET, batch, () => token));
  const newTokens = Array.from({ length: Math.max(batch, DISTINCT_TOKENS) }, () =>
    mintAccessToken(key.jkt),
  );
  const newTokenPairs = cycler(
    mintProofs(key, TARGET, newTokens.length, (i) => newTokens[i]!).map((proof, i) => ({
      proof,
      token: newTokens[i]!,
    })),
  );
  const coldInputs = cycler(mintProofs(key, TARGET, batch).map(input));
  const joseProofs = cycler(mintProofs(key, TARGET, batch));
  // verify() records every jti: each call needs a proof never seen before, warm-up included.
  const verifyInputs = cycler(mintProofs(key, TARGET, batch * (rounds + 1)).map(input));

  const warm = new DPoPProofVerifier(undefined, verifierOptions(alg));
  const bound = new DPoPProofVerifier(undefined, verifierOptions(alg));
  const boundCheck = (proof: string, accessToken: string) => {
    const expectedJkt = boundJkt(accessToken);
    if (expectedJkt !== key.jkt) fail('boundJkt');
    bound.check({ proof, method: TARGET.htm, url: TARGET.htu, accessToken, expectedJkt });
  };
  const cold = new DPoPProofVerifier(undefined, verifierOptions(alg, 0));
  const stored = new DPoPProofVerifier(store, verifierOptions(alg));
  const joseOptions = { typ: 'dpop+jwt', algorithms: [alg] };

  const list: Contender[] = [
    {
      name: 'floorUs',
      run(count) {
        for (let i = 0; i < count; i++) {
          const { data, signature } = floorParts();
          if (!verify(digest, data, verifyKey, signature)) fail('crypto.verify');
        }
      },
    },
    {
      name: 'checkUs',
      run(count) {
        for (let i = 0; i < count; i++) warm.check(checkInputs());
      },
    },
    {
      name: 'checkBoundUs',
      run(count) {
        for (let i = 0; i < count; i++) boundCheck(boundProofs(), token);
      },
    },
    {
      name: 'checkNewTokenUs',
      run(count) {
        for (let i = 0; i < count; i++) {
          const pair = newTokenPairs();
          boundCheck(pair.proof, pair.token);
        }
      },
    },
    {
      name: 'checkNoCacheUs',
      run(count) {
        for (let i = 0; i < count; i++) cold.check(coldInputs());
      },
    },
    {
      name: 'verifyUs',
      async run(count) {
        for (let i = 0; i < count; i++) await stored.verify(verifyInputs());
      },
    },
    {
      name: 'joseUs',
      async run(count) {
        for (let i = 0; i < count; i++) {
          const { protectedHeader } = await jwtVerify(joseProofs(), EmbeddedJWK, joseOptions);
          await calculateJwkThumbprint(protectedHeader.jwk!);
        }
      },
    },
    {
      name: 'importUs',
      run(count) {
        for (let i = 0; i < count; i++) createPublicKey({ key: key.jwk, format: 'jwk' });
      },
    },
  ];
  // jose 6 has no Ed448: that row has no jose column.
  return JOSE_ALGORITHMS.has(alg) ? list : list.filter((c) => c.name !== 'joseUs');
}

/** The algorithms jose 6 verifies (all of ours but Ed448). */
const JOSE_ALGORITHMS = new Set<string>(
  ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512'].concat(
    ['RS', 'PS'].flatMap((p) => ['256', '384', '512'].map((n) => p + n)),
  ),
);

/** Per-proof cost of one batch, in µs: process CPU time (all threads) and wall-clock time. */
async function timeBatch(
  contender: Contender,
  count: number,
): Promise<{ cpu: number; wall: number }> {
  collectGarbage();
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await contender.run(count);
  const used = process.cpuUsage(cpu);
  return {
    cpu: (used.user + used.system) / count,
    wall: Number(process.hrtime.bigint() - wall) / 1000 / count,
  };
}

/**
 * Per-proof cost of each contender for one algorithm. Contenders run interleaved, one batch each
 * per round (the starting contender rotates), and each reports the median over rounds, so that
 * machine noise falls on all of them alike. Round 0 is a warm-up and is not counted.
 */
export async function benchVerifierAlgorithm(
  alg: DPoPAlgorithm,
  rounds: number,
): Promise<VerifierResult> {
  const key = makeBenchKey(alg);

  // Calibrate the batch on check(): about BATCH_TARGET_MS per batch for the library.
  const probe = new DPoPProofVerifier(undefined, verifierOptions(alg));
  const probeInputs = mintProofs(key, TARGET, 200).map(input);
  for (const item of probeInputs) probe.check(item);
  const start = process.hrtime.bigint();
  for (const item of probeInputs) probe.check(item);
  const probeUs = Number(process.hrtime.bigint() - start) / 1000 / probeInputs.length;
  const batch = Math.max(100, Math.min(2000, Math.round((BATCH_TARGET_MS * 1000) / probeUs)));

  const store = new InMemoryJtiStore();
  const list = contenders(key, batch, rounds, store);
  const samples = new Map(list.map((c) => [c.name, { cpu: [] as number[], wall: [] as number[] }]));
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < list.length; i++) {
      const contender = list[(round + i) % list.length]!;
      const { cpu, wall } = await timeBatch(contender, batch);
      if (round === 0) continue;
      samples.get(contender.name)!.cpu.push(cpu);
      samples.get(contender.name)!.wall.push(wall);
    }
  }
  store.onModuleDestroy();
  const costs = (clock: 'cpu' | 'wall'): VerifierCosts => {
    const of = (name: keyof VerifierCosts) => {
      const sample = samples.get(name);
      return sample === undefined ? Number.NaN : median(sample[clock]);
    };
    return {
      floorUs: of('floorUs'),
      checkUs: of('checkUs'),
      checkBoundUs: of('checkBoundUs'),
      checkNewTokenUs: of('checkNewTokenUs'),
      checkNoCacheUs: of('checkNoCacheUs'),
      verifyUs: of('verifyUs'),
      joseUs: of('joseUs'),
      importUs: of('importUs'),
    };
  };
  return { alg, batch, rounds, cpu: costs('cpu'), wall: costs('wall') };
}
