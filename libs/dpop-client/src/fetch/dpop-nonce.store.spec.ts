import { describe, expect, it } from '@jest/globals';
import { DPoPNonceStore } from './dpop-nonce.store.js';

describe('DPoPNonceStore', () => {
  it('keys nonces by origin: scheme, host and port, not path', () => {
    const store = new DPoPNonceStore();
    store.set('https://a.example/x?y', 'n1');
    expect(store.get('https://a.example/other')).toBe('n1');
    expect(store.get('https://A.EXAMPLE:443/')).toBe('n1');
    expect(store.get('http://a.example/')).toBeUndefined();
    expect(store.get('https://a.example:8443/')).toBeUndefined();
  });

  it('takes the DPoP-Nonce header of a response, ignoring values that are not nonces', () => {
    const store = new DPoPNonceStore();
    const answer = (nonce?: string): { headers: Headers } => ({
      headers: new Headers(nonce === undefined ? {} : { 'DPoP-Nonce': nonce }),
    });
    expect(store.update('https://a.example', answer('eyJ7S_zG.9'))).toBe('eyJ7S_zG.9');
    expect(store.update('https://a.example', answer('has "quotes"'))).toBeUndefined();
    expect(store.update('https://a.example', answer())).toBeUndefined();
    expect(store.get('https://a.example')).toBe('eyJ7S_zG.9');
    store.set('https://a.example', 'bad\\nonce');
    expect(store.get('https://a.example')).toBe('eyJ7S_zG.9');
  });

  it('forgets the oldest origin beyond its bound, and clears on demand', () => {
    const store = new DPoPNonceStore(2);
    store.set('https://a.example', 'a');
    store.set('https://b.example', 'b');
    store.set('https://c.example', 'c');
    expect(store.get('https://a.example')).toBeUndefined();
    expect(store.get('https://c.example')).toBe('c');
    store.clear('https://c.example');
    expect(store.get('https://c.example')).toBeUndefined();
    store.clear();
    expect(store.get('https://b.example')).toBeUndefined();
  });

  it('ignores what is not a URL', () => {
    const store = new DPoPNonceStore();
    store.set('not a url', 'n');
    expect(store.get('not a url')).toBeUndefined();
  });
});

describe('DPoPNonceStore: newest wins (RFC 9449 §8.2)', () => {
  it('keeps the nonce received last, whatever order the writes arrive in', () => {
    const store = new DPoPNonceStore();
    store.set('https://api.example.com', 'newer', 2_000);
    // A slow worker's write of an older nonce must not bring it back.
    store.set('https://api.example.com/other/path', 'older', 1_000);
    expect(store.get('https://api.example.com/x')).toBe('newer');
    store.set('https://api.example.com', 'newest', 3_000);
    expect(store.get('https://api.example.com')).toBe('newest');
  });

  it('is bounded: the least recently updated origin goes first', () => {
    const store = new DPoPNonceStore(2);
    store.set('https://a.example', 'na');
    store.set('https://b.example', 'nb');
    store.set('https://a.example', 'na2');
    store.set('https://c.example', 'nc');
    expect([store.get('https://a.example'), store.get('https://b.example')]).toEqual([
      'na2',
      undefined,
    ]);
    expect(store.get('https://c.example')).toBe('nc');
  });
});
