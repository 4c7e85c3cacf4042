/**
 * `npm run bench:policy`: the request policy alone (what `DPoPGuard` runs, without Nest and
 * without HTTP), in one process, for A/B runs of a change to the library: each call of
 * `DPoPRequestPolicy.check()` timed on its own, beside one `crypto.verify` of the same proof and
 * of the same token (the floors), the four taking turns request by request; medians per round,
 * then the median over rounds. With no framework, socket or second process in the measurement
 * it moves by a few % from run to run on the shared machine, where the HTTP benchmark
 * (`npm run bench:resource`) moves by tens of %.
 *
 * Prints `reused ÷ proof signature` (the policy with a cached token against the one signature
 * it must check) and `first-seen: extra signatures` (`(first-seen − reused) ÷ token signature`).
 * To compare two builds: `node dist/bench/resource/policy.bench.js` in each.
 */
import { createPublicKey, verify, type VerifyKeyObjectInput } from 'node:crypto';
import { DPoPRequestPolicy, type DPoPRequestInput } from 'nest-dpop';
import { makeBenchKey, mintProofs } from '../lib/proof-factory.js';
import { median } from '../lib/stats.js';
import { BenchIssuer } from './resource-issuer.js';

const ROUNDS = Number(process.env.BENCH_POLICY_ROUNDS ?? 7);
const REQUESTS = Number(process.env.BENCH_POLICY_REQUESTS ?? 2000);
const ORIGIN = 'http://127.0.0.1:3000';

const issuer = new BenchIssuer();
await issuer.start();
const audience = `${ORIGIN}/`;
const policy = DPoPRequestPolicy.create({
  publicUrl: ORIGIN,
  proofBudget: false,
  accessToken: { issuer: issuer.issuer, audience, jwksUri: issuer.jwksUri },
});
const key = makeBenchKey('ES256');

/** `REQUESTS` requests, each with a fresh proof; one token for all, or a new one each. */
function requests(freshTokens: boolean): DPoPRequestInput[] {
  const reused = issuer.token(key.jkt, audience);
  const tokens = Array.from({ length: REQUESTS }, () =>
    freshTokens ? issuer.token(key.jkt, audience) : reused,
  );
  const proofs = mintProofs(key, { htm: 'GET', htu: `${ORIGIN}/r` }, REQUESTS, (i) => tokens[i]!);
  return tokens.map((token, i) => ({
    method: 'GET',
    url: '/r',
    headers: { host: '127.0.0.1:3000', authorization: `DPoP ${token}`, dpop: proofs[i]! },
  }));
}

/** One `crypto.verify` of a compact JWS, as the resource bench's floor routes run it. */
function floor(compact: string, keyInput: VerifyKeyObjectInput): void {
  const dot2 = compact.lastIndexOf('.');
  const input = Buffer.from(compact.slice(0, dot2), 'latin1');
  const signature = Buffer.from(compact.slice(dot2 + 1), 'base64url');
  if (!verify('sha256', input, keyInput, signature)) throw new Error('bench signature invalid');
}

/** µs of one call of `fn` (awaited). */
async function timeUs(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1000;
}

const tokenKey: VerifyKeyObjectInput = {
  key: createPublicKey({
    key: issuer.publicJwk,
    format: 'jwk',
  }),
  dsaEncoding: 'ieee-p1363',
};
const proofKey = key.verifyKey as VerifyKeyObjectInput;
const header = (request: DPoPRequestInput, name: 'dpop' | 'authorization') =>
  request.headers[name] as string;

try {
  await policy.check(requests(false)[0]!); // the JWK Set, fetched once
  const reusedVsSignature: number[] = [];
  const extraSignatures: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const reused = requests(false);
    const fresh = requests(true);
    // The four contenders take turns request by request, so that the machine's drift (other
    // jobs on a shared machine) falls on all of them alike.
    const times = {
      reused: [] as number[],
      first: [] as number[],
      proof: [] as number[],
      token: [] as number[],
    };
    for (let i = 0; i < REQUESTS; i++) {
      times.reused.push(await timeUs(() => policy.check(reused[i]!)));
      times.proof.push(await timeUs(() => floor(header(reused[i]!, 'dpop'), proofKey)));
      times.first.push(await timeUs(() => policy.check(fresh[i]!)));
      times.token.push(
        await timeUs(() => floor(header(reused[i]!, 'authorization').slice(5), tokenKey)),
      );
    }
    const [reusedUs, firstUs, proofUs, tokenUs] = [
      times.reused,
      times.first,
      times.proof,
      times.token,
    ].map(median) as [number, number, number, number];
    if (round === 0) continue; // warm-up
    reusedVsSignature.push(reusedUs / proofUs);
    extraSignatures.push((firstUs - reusedUs) / tokenUs);
  }
  const show = (values: number[]) =>
    `${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
  process.stdout.write(
    `policy alone, ES256, ${ROUNDS} rounds of ${REQUESTS}: reused ÷ proof signature ` +
      `${show(reusedVsSignature)}, first-seen: extra signatures ${show(extraSignatures)}\n`,
  );
} finally {
  issuer.stop();
}
