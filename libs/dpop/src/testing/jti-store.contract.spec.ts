import { describe, expect, it } from '@jest/globals';
import type { JtiStore } from '../stores/jti-store.interface.js';
import { runJtiStoreContract } from './jti-store.contract.js';

/** Collects the contract's tests instead of registering them, to run them against bad stores. */
function collect(makeStore: () => JtiStore): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>();
  runJtiStoreContract('under test', makeStore, {
    describe: (_name, body) => body(),
    it: (name, body) => void tests.set(name, body),
  });
  return tests;
}

const run = (tests: Map<string, () => Promise<void>>, prefix: string) => {
  const entry = [...tests].find(([name]) => name.startsWith(prefix));
  if (entry === undefined) throw new Error(`no contract test "${prefix}…"`);
  return entry[1]();
};

/** Check-then-set, the race the contract exists to catch. */
class RacyStore implements JtiStore {
  private readonly seen = new Set<string>();
  async recordIfNew(jti: string): Promise<boolean> {
    const had = this.seen.has(jti);
    await new Promise((resolve) => setImmediate(resolve));
    if (had) return false;
    this.seen.add(jti);
    return true;
  }
}

/** Remembers for ever. */
class ForeverStore implements JtiStore {
  private readonly seen = new Set<string>();
  async recordIfNew(jti: string): Promise<boolean> {
    if (this.seen.has(jti)) return false;
    this.seen.add(jti);
    return true;
  }
}

/** Keeps only the first 64 characters of a jti. */
class TruncatingStore extends ForeverStore {
  override recordIfNew(jti: string): Promise<boolean> {
    return super.recordIfNew(jti.slice(0, 64));
  }
}

describe('runJtiStoreContract catches broken stores', () => {
  it('a check-then-set store fails the atomicity test', async () => {
    await expect(
      run(
        collect(() => new RacyStore()),
        'is atomic',
      ),
    ).rejects.toThrow('exactly one caller wins');
  });

  it('a store that never forgets fails the expiry test', async () => {
    await expect(
      run(
        collect(() => new ForeverStore()),
        'forgets a jti after its ttl',
      ),
    ).rejects.toThrow('new again after the ttl');
  });

  it('a store that truncates keys fails the long-key test', async () => {
    await expect(
      run(
        collect(() => new TruncatingStore()),
        'keeps long keys apart',
      ),
    ).rejects.toThrow('a key differing in its last char');
  });

  it('a store that says "new" every time fails the first test', async () => {
    const always: JtiStore = { recordIfNew: async () => true };
    await expect(
      run(
        collect(() => always),
        'says a jti is new once',
      ),
    ).rejects.toThrow('second record is a replay');
  });
});
