import { describe, expect, it } from '@jest/globals';
import { DPoPError } from '../errors/dpop.errors.js';
import type { DPoPHttpRequest } from '../options/dpop-module-options.interface.js';
import { defaultClientKey, ProofBudget } from './proof-budget.limiter.js';

const WINDOW_MS = 181_000;
const from = (ip: string): DPoPHttpRequest => ({ headers: {}, socket: { remoteAddress: ip } });

function refusal(take: () => void): DPoPError {
  try {
    take();
  } catch (error) {
    if (error instanceof DPoPError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('ProofBudget', () => {
  it('refuses a client past perClient with 429 and the wait, and lets another client on', () => {
    let now = 1_000_000;
    const budget = new ProofBudget({ perClient: 3, interval: 10 }, WINDOW_MS, () => now);
    for (let i = 0; i < 3; i++) budget.take(from('192.0.2.1'), `key-${i}`);
    now += 4_000;
    const refused = refusal(() => budget.take(from('192.0.2.1'), 'key-x'));
    expect(refused.code).toBe('ERR_DPOP_RATE_LIMITED');
    expect(refused.retryAfter).toBe(6);
    // Another address, even with a key the flooder used.
    budget.take(from('192.0.2.2'), 'key-0');
    // The window ends: the client may go on.
    now += 6_000;
    budget.take(from('192.0.2.1'), 'key-y');
  });

  it('refuses a key past perKey, whatever the address', () => {
    const budget = new ProofBudget({ perKey: 2 }, WINDOW_MS, () => 0);
    budget.take(from('192.0.2.1'), 'k');
    budget.take(from('192.0.2.2'), 'k');
    expect(refusal(() => budget.take(from('192.0.2.3'), 'k')).code).toBe('ERR_DPOP_RATE_LIMITED');
    budget.take(from('192.0.2.3'), 'other');
  });

  it('tracks no key for a refused client (a fresh key per proof cannot grow the map)', () => {
    const budget = new ProofBudget({ perClient: 5 }, WINDOW_MS, () => 0);
    for (let i = 0; i < 1000; i++) {
      try {
        budget.take(from('192.0.2.1'), `fresh-${i}`);
      } catch {
        // refused past five
      }
    }
    expect(budget.trackedCount).toBe(1 + 5);
    expect(budget.liveCount).toBe(5);
  });

  it('maxLive: counted jtis alive at once, forgotten as they leave the replay window', () => {
    let now = 0;
    const budget = new ProofBudget({ maxLive: 4 }, 10_000, () => now);
    for (let i = 0; i < 4; i++) budget.take(from(`192.0.2.${i}`), `k${i}`);
    const refused = refusal(() => budget.take(from('192.0.2.9'), 'k9'));
    expect(refused.code).toBe('ERR_DPOP_RATE_LIMITED');
    expect(budget.liveCount).toBe(4);
    now += 11_000;
    expect(budget.liveCount).toBe(0);
    budget.take(from('192.0.2.9'), 'k9');
  });

  it('maxTracked: full of live windows refuses a newcomer (fail closed), sweeps ended ones', () => {
    let now = 0;
    const budget = new ProofBudget({ maxTracked: 4, interval: 10 }, WINDOW_MS, () => now);
    budget.take(from('192.0.2.1'), 'a');
    budget.take(from('192.0.2.2'), 'b');
    expect(refusal(() => budget.take(from('192.0.2.3'), 'c')).retryAfter).toBe(10);
    now += 10_000;
    budget.take(from('192.0.2.3'), 'c');
    expect(budget.trackedCount).toBe(2);
  });

  it('refuses bad settings, naming them', () => {
    expect(() => new ProofBudget({ perClient: 0 }, WINDOW_MS)).toThrow(/proofBudget\.perClient/);
    expect(() => new ProofBudget({ interval: 1.5 }, WINDOW_MS)).toThrow(/proofBudget\.interval/);
  });

  it('counts a failing clientKey as one unknown client (never a pass)', () => {
    const budget = new ProofBudget(
      {
        perClient: 1,
        clientKey: () => {
          throw new Error('no');
        },
      },
      WINDOW_MS,
    );
    budget.take(from('192.0.2.1'), 'a');
    expect(refusal(() => budget.take(from('192.0.2.2'), 'b')).code).toBe('ERR_DPOP_RATE_LIMITED');
  });
});

describe('defaultClientKey', () => {
  it.each([
    [{ ip: '203.0.113.7' }, '203.0.113.7'],
    [{ socket: { remoteAddress: '::ffff:127.0.0.1' } }, '127.0.0.1'],
    [{ socket: { remoteAddress: '2001:db8:1:2:3:4:5:6' } }, '2001:db8:1:2::/64'],
    [{ socket: { remoteAddress: '2001:db8:1:2::9' } }, '2001:db8:1:2::/64'],
    [{ socket: { remoteAddress: '2001:0db8::1%eth0' } }, '2001:db8:0:0::/64'],
    [{ socket: { remoteAddress: '::1' } }, '0:0:0:0::/64'],
    [{}, undefined],
  ])('%j → %s', (request, key) => {
    expect(defaultClientKey({ headers: {}, ...request })).toBe(key);
  });
});
