import { describe, expect, it } from '@jest/globals';
import { AccessTokenClaimsCache } from './access-token-claims.cache.js';

describe('AccessTokenClaimsCache', () => {
  it('gives a value until its time, never after', () => {
    const cache = new AccessTokenClaimsCache<string>(10);
    cache.set('token-a', 'claims-a', 1000);
    expect(cache.get('token-a', 999)).toBe('claims-a');
    expect(cache.get('token-a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = new AccessTokenClaimsCache<number>(2);
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 10_000);
    expect(cache.get('a', 0)).toBe(1); // a is now the newest
    cache.set('c', 3, 10_000);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBe(1);
    expect(cache.get('c', 0)).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('bounds the characters held, and keeps no token longer than 16,383 characters', () => {
    const cache = new AccessTokenClaimsCache<number>(100, 10);
    cache.set('aaaaaa', 1, 10_000);
    cache.set('bbbbbb', 2, 10_000);
    expect(cache.get('aaaaaa', 0)).toBeUndefined();
    expect(cache.get('bbbbbb', 0)).toBe(2);
    const big = new AccessTokenClaimsCache<number>(100);
    big.set('x'.repeat(16_384), 1, 10_000);
    expect(big.size).toBe(0);
  });
});
