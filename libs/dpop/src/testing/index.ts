/**
 * `nest-dpop/testing`: what third parties need to test with the library. Import it only from
 * test code; the main entry point never loads it.
 *
 * - {@link runJtiStoreContract}: the replay-store contract as a suite, for authors of a custom
 *   `JtiStore` (Jest, Vitest or `node:test`).
 * - {@link DPoPTestKey}: keys and signed proofs for tests, on `node:crypto` alone;
 *   {@link unsignedBoundToken}: a JWT-shaped token bound to a key, for guard-only tests.
 * - {@link seedRedisJtiStoreHistory}: lets a `RedisJtiStore` on a fresh Redis or key prefix
 *   accept proofs at once (tests only); {@link redisJtiStoreKeys}: where it keeps what.
 * - {@link replayKey}: the key a proof's jti is recorded under in the replay store, to look a
 *   record up (or plant one) in a test.
 * - {@link redisStandIn}: in the place of the app's Redis client when a test swaps the replay
 *   store, so that no client is created.
 * @packageDocumentation
 */
export {
  runJtiStoreContract,
  type ContractTestApi,
  type JtiStoreContractOptions,
} from './jti-store.contract.js';
export {
  DPoPTestKey,
  unsignedBoundToken,
  type TestKeyAlgorithm,
  type TestProofInput,
} from './dpop-test-key.js';
export {
  seedRedisJtiStoreHistory,
  redisJtiStoreKeys,
  type RedisJtiStoreKeys,
  type SeedableRedisClient,
} from './redis-history.testing.js';
export { replayKey } from '../stores/replay-key.util.js';
export { redisStandIn, type RedisStandIn } from './redis-stand-in.testing.js';
