/**
 * `npm run bench:bound`: a bound token's extra cost, alone. The same verifier work with and
 * without a DPoP-bound JWT access token (binding read + `ath` + `cnf.jkt`), interleaved in one
 * process, CPU-time medians per proof, per algorithm. The full bench (`npm run bench`) divides by
 * the `crypto.verify` floor, whose own noise dominates on a loaded machine; this divides by the
 * library's own `check()` without a token, so it shows what the token adds.
 */
import { DPoPProofVerifier, type DPoPAlgorithm } from 'nest-dpop';
import { makeBenchKey, mintAccessToken, mintProofs } from '../lib/proof-factory.js';
import { boundJkt } from '../lib/token-binding.js';

const TARGET = { htm: 'POST', htu: 'https://api.example.com/bench' };
const ALGORITHMS: DPoPAlgorithm[] = ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'];
const PROOFS = 1500;
const ROUNDS = 12;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const cpuUs = (run: () => void): number => {
  const started = process.cpuUsage();
  run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / PROOFS;
};

process.stdout.write(
  'alg | check() µs | bound token µs | bound ÷ check()\n--- | --- | --- | ---\n',
);
for (const alg of ALGORITHMS) {
  const key = makeBenchKey(alg);
  const options = { algorithms: [alg] };
  const plain = new DPoPProofVerifier(undefined, options);
  const bound = new DPoPProofVerifier(undefined, options);
  const token = mintAccessToken(key.jkt);
  const plainProofs = mintProofs(key, TARGET, PROOFS);
  const boundProofs = mintProofs(key, TARGET, PROOFS, () => token);
  const check: number[] = [];
  const withToken: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const a = cpuUs(() => {
      for (const proof of plainProofs) plain.check({ proof, method: TARGET.htm, url: TARGET.htu });
    });
    const b = cpuUs(() => {
      for (const proof of boundProofs) {
        const expectedJkt = boundJkt(token);
        bound.check({
          proof,
          method: TARGET.htm,
          url: TARGET.htu,
          accessToken: token,
          expectedJkt,
        });
      }
    });
    // Round 0 warms up.
    if (round > 0) {
      check.push(a);
      withToken.push(b);
    }
  }
  const [a, b] = [median(check), median(withToken)];
  process.stdout.write(`${alg} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}×\n`);
}
