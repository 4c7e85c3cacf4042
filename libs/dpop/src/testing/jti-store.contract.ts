import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { JtiStore } from '../stores/jti-store.interface.js';

/**
 * The two functions of a test runner the contract needs. Jest's and Vitest's `describe` and
 * `it` both fit (pass them in, or use the globals: `{ describe, it }`); so does `node:test`.
 */
export interface ContractTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>, timeout?: number): unknown;
}

/** Options of {@link runJtiStoreContract}. */
export interface JtiStoreContractOptions {
  /**
   * The short time-to-live (ms) the expiry test records a jti for; it then waits twice as long.
   * Default 150. Raise it for a store whose expiry is coarser (e.g. whole seconds).
   */
  expiryTtlMs?: number;
  /** How many concurrent records of one jti the atomicity test sends. Default 50. */
  concurrency?: number;
  /** Per-test timeout passed to `it` (ms). Default: the runner's own. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The contract every {@link JtiStore} keeps, as a test suite for your own store: call it in a
 * test file of your project, with a factory that gives a fresh, empty store (a real backend, not
 * a mock: atomicity and expiry are what it checks).
 *
 * Assertions use `node:assert`, so the suite runs unchanged under Jest, Vitest or `node:test`.
 *
 * @example
 * ```ts
 * // my-jti.store.spec.ts (Jest or Vitest)
 * import { runJtiStoreContract } from 'nest-dpop/testing';
 * import { describe, it } from '@jest/globals'; // or 'vitest'
 *
 * runJtiStoreContract('MyJtiStore', () => new MyJtiStore(client, { prefix: uniquePrefix() }), {
 *   describe,
 *   it,
 * });
 * ```
 *
 * @param name the suite's name
 * @param makeStore a fresh store per test (it may be async)
 * @param api the runner's `describe` and `it`
 */
export function runJtiStoreContract(
  name: string,
  makeStore: () => JtiStore | Promise<JtiStore>,
  api: ContractTestApi,
  options: JtiStoreContractOptions = {},
): void {
  const { describe, it } = api;
  const expiryTtl = options.expiryTtlMs ?? 150;
  const concurrency = options.concurrency ?? 50;
  const timeout = options.timeoutMs;
  const test = (title: string, body: (store: JtiStore) => Promise<void>) =>
    it(title, async () => body(await makeStore()), timeout);

  describe(`JtiStore contract: ${name}`, () => {
    test('says a jti is new once, and used afterwards', async (store) => {
      const jti = randomUUID();
      assert.equal(await store.recordIfNew(jti, 10_000), true, 'first record is new');
      assert.equal(await store.recordIfNew(jti, 10_000), false, 'second record is a replay');
      assert.equal(await store.recordIfNew(jti, 10_000), false, 'third record is a replay');
    });

    test('keeps different jtis apart', async (store) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.recordIfNew(randomUUID(), 10_000)),
      );
      assert.deepEqual(results, Array<boolean>(20).fill(true), 'every distinct jti is new');
    });

    test('forgets a jti after its ttl', async (store) => {
      const jti = randomUUID();
      assert.equal(await store.recordIfNew(jti, expiryTtl), true);
      assert.equal(await store.recordIfNew(jti, expiryTtl), false, 'replay within the ttl');
      await sleep(expiryTtl * 2);
      assert.equal(await store.recordIfNew(jti, expiryTtl), true, 'new again after the ttl');
    });

    test(`is atomic: of ${concurrency} concurrent records of one jti, exactly one is new`, async (store) => {
      const jti = randomUUID();
      const results = await Promise.all(
        Array.from({ length: concurrency }, () => store.recordIfNew(jti, 10_000)),
      );
      assert.equal(results.filter((fresh) => fresh).length, 1, 'exactly one caller wins');
    });

    test('keeps long keys apart, and apart from short ones (no truncation)', async (store) => {
      const a = 'a'.repeat(200);
      const b = 'a'.repeat(199) + 'b';
      assert.equal(await store.recordIfNew(a, 10_000), true);
      assert.equal(await store.recordIfNew(b, 10_000), true, 'a key differing in its last char');
      assert.equal(await store.recordIfNew(a, 10_000), false);
      // Stores get replay keys as they are (a hash of jkt and jti): none may be cut or rewritten.
      assert.equal(await store.recordIfNew('#' + 'x'.repeat(10), 10_000), true);
    });
  });
}
