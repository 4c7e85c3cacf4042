import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { withTimeout } from './redis-timeout.util.js';

describe('withTimeout', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('passes on a value or an error that comes in time, and leaves no timer behind', async () => {
    await expect(withTimeout(Promise.resolve(1), 100)).resolves.toBe(1);
    await expect(withTimeout(Promise.reject(new Error('no')), 100)).rejects.toThrow('no');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses with 503 when the work is late', async () => {
    const late = withTimeout(new Promise(() => undefined), 100);
    jest.advanceTimersByTime(100);
    await expect(late).rejects.toMatchObject({
      code: 'ERR_DPOP_STORE_UNAVAILABLE',
      cause: expect.objectContaining({ message: 'Redis did not answer within 100 ms' }),
    });
  });

  it('waits as long as the work does with a timeout of 0', async () => {
    const work = new Promise((resolve) => setTimeout(resolve, 10_000, 'done'));
    const bounded = withTimeout(work, 0);
    jest.advanceTimersByTime(10_000);
    await expect(bounded).resolves.toBe('done');
  });
});
