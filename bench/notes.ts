/**
 * The hand-written end of docs/BENCHMARKS.md: how to read the tables, and what issue 6 changed
 * in the library. Kept here so that re-running the benchmark keeps it.
 */
export const NOTES = `## 5. Reading the numbers

- **The signature is the cost.** The verifier's own work beyond \`crypto.verify\` is a few µs per
  proof (§1): decoding payload and signature, the claims, one key-cache lookup. The cache is what
  keeps it there: without it (\`keyCacheSize: 0\`) every proof also parses its header and imports
  its key, which is what the jose pipeline does, through WebCrypto, on every call.
- **The floor inside a server costs more than in a hot loop.** In §1 \`crypto.verify\` runs back
  to back with all it needs in the CPU caches; in §2 it runs between HTTP parsing, routing and
  response writing, and the same call usually takes more CPU time, most clearly for RS256
  (compare the floor handler's added µs/req with the floor of §1). So §2 compares the guard with
  the floor handler in the same server, round by round; the ratio against the hot-loop floor is
  shown too, and is usually the harder one to meet.
- **What the guard adds beyond the floor** is the verifier's few µs, the replay store (a \`Map\`
  insert, or a Redis round trip that costs the Node process CPU for ioredis' encoding, socket
  I/O and reply parsing, §4), and the guard's own reading of the request (metadata lookups, URL
  building).
- **Redis**: the two apps run in separate processes, each compared with its own \`@SkipDPoP()\`
  route. On a 2-core machine that also runs the load generator and redis-server, throughput
  differences within about ±10 % between runs are noise. ioredis auto-pipelining saves
  redis-server CPU at any concurrency, and Node CPU once many calls are in flight; with a
  handful in flight it saves the Node process nothing and may cost it a little (§4).
- **Memory store**: one \`Map\` from jti to expiry; the jti string is most of an entry. An expiry
  stored as a small integer (a Smi) instead of a heap number would save 16 bytes an entry; at
  about 100 bytes an entry it was not needed.

## 6. What issue 6 changed in the library

Measured A/B in one process (the code before the change against after, interleaved, CPU time,
medians; 2026-11-24, this machine). Behaviour, error codes and public API unchanged.

- **\`DPoPProofVerifier.check()\`**: the structural regex over the whole proof now runs only when
  something else failed (a proof that verifies is already three canonical base64url segments, so
  every error still comes out as before), and the newest key-cache entry is compared directly
  (agents resend the same header) before hashing the segment for a \`Map\` lookup and moving the
  entry in LRU order. Verifier work beyond the floor, RS256 (where it weighs most): 6.6 µs →
  5.1–5.4 µs a proof (\`check()\` ÷ floor 1.21–1.26× → 1.16–1.21× in those runs). For EdDSA and
  ES256 the same 1–2 µs is within the noise of a 115–140 µs floor.
- **\`RedisJtiStore.recordIfNew\`**: one promise and one timer per call instead of an async
  function plus \`Promise.race(…).finally(…)\`. CPU it adds over a bare ioredis \`SET … PX … NX\`:
  4.4–5.8 µs → 2.6–3.3 µs a call.
- **Measured and kept**: the key cache keyed by the exact header segment. It is a cache of
  imported keys keyed by the exact JWK members (plus \`typ\` and \`alg\`), filled only after a
  signature verified, and a hit also skips parsing the header; the allowed-algorithm table is a
  \`Map\` built once; no regex or closure is built per request in the verifier. Auto-pipelining
  is an option of the ioredis client the application passes in, not of the store; the bench's
  Redis app turns it on.

## 7. What issue 15 changed in the library

A request with a DPoP-bound JWT access token used to cost far more than the proof alone: per
request the guard base64url-decoded and JSON-parsed the token's payload for \`cnf.jkt\`
(\`jwtConfirmationJkt\`) and the verifier hashed the whole token for \`ath\` with a fresh
\`Hash\` object. Measured A/B in one process (the code before against after, interleaved, 25
rounds, CPU time, medians, the ~800-character token of §1; 2026-12-03, this machine), bound
token ÷ floor before → after: EdDSA 1.20× → 1.04×, Ed25519 1.22× → 1.11×, ES256 1.38× → 1.02×,
RS256 1.73× → 1.14×, ES384 1.11× → 1.02×, PS256 1.39× → 1.17×, Ed448 1.21× → 1.06×. Behaviour,
error codes and public API unchanged.

- **A token cache**: the \`ath\` digest and the \`cnf.jkt\` of a token, remembered per exact
  token string in one bounded LRU that \`jwtConfirmationJkt\` and the verifier share (1,000
  entries and 2 MiB of token text at most, tokens up to 16,383 characters, the newest entry
  compared first as agents resend one token). Both are pure functions of the string: a re-bound
  or changed token is another string, another entry, and can never be answered from an old one.
  A token not seen recently (\`bound, new token\` in §1) costs what it did before.
- **\`sha256Base64url\`** uses the one-shot \`crypto.hash\` (half the cost of a \`Hash\` object
  at these sizes), for \`ath\` and key thumbprints alike.
- **\`check()\`** decodes each proof's payload, signing input and signature into one buffer per
  verifier instead of three new Buffers, compares \`ath\` and \`jkt\` without allocating
  (\`equalStrings\`, still without an early exit), and builds its result without temporary
  objects.
`;
