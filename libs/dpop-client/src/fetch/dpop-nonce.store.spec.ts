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
