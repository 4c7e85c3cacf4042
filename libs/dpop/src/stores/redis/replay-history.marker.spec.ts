import { describe, expect, it } from '@jest/globals';
import {
  assertNoHashTags,
  BUCKET_TAGS,
  bucketIndex,
  bucketLayout,
  defaultHistoryKey,
  formatMarker,
  historyMarkerKeys,
  nonceSecretKey,
  parseMarker,
  recordKey,
} from './replay-history.marker.js';

describe('replay history marker and key layout', () => {
  it('a single Redis has one marker, <prefix>#epoch, and keys <prefix><key>', () => {
    const history = defaultHistoryKey('dpop:jti:');
    expect(history).toBe('dpop:jti:#epoch');
    expect(nonceSecretKey(history)).toBe('dpop:jti:#epoch#nonce-secret');
    const layout = bucketLayout(history, false);
    expect(layout).toEqual([{ tag: '', markerKey: 'dpop:jti:#epoch' }]);
    expect(recordKey('dpop:jti:', layout[0]!, 'Abc')).toBe('dpop:jti:Abc');
    expect(bucketIndex('zzz', 1)).toBe(0);
  });

  it('a Cluster has one marker per first character, in the slot of the keys it guards', () => {
    const layout = bucketLayout('p#history', true);
    expect(layout).toHaveLength(64);
    expect(new Set(BUCKET_TAGS).size).toBe(64);
    expect(historyMarkerKeys('p#history', true)).toEqual(layout.map((b) => b.markerKey));
    for (const c of ['A', 'z', '0', '-', '_']) {
      const bucket = layout[bucketIndex(`${c}rest`, 64)]!;
      expect(bucket).toEqual({ tag: `{${c}}`, markerKey: `p#history{${c}}` });
      expect(recordKey('p:', bucket, `${c}rest`)).toBe(`p:{${c}}${c}rest`);
    }
    // A key outside the base64url alphabet still lands in a bucket.
    expect(bucketIndex('%x', 64)).toBeGreaterThanOrEqual(0);
    expect(bucketIndex('%x', 64)).toBeLessThan(64);
  });

  it('refuses braces of their own in a Cluster prefix or history key', () => {
    expect(() => assertNoHashTags('{app}:', 'h')).toThrow(/must not contain \{ or \}/);
    expect(() => assertNoHashTags('app:', 'h{x}')).toThrow(/must not contain \{ or \}/);
    expect(() => assertNoHashTags('app:', 'app:#history')).not.toThrow();
  });

  it('writes and reads the marker format', () => {
    const id = 'abcdefghij_-ABCDEFGH01';
    const marker = formatMarker(id, 'sig', 1234);
    expect(marker).toBe(`${id}.sig.1234`);
    expect(parseMarker(marker)).toEqual({ id, signature: 'sig', lossAt: 1234 });
    // Anything else vouches for nothing (a loss): another shape, id or time.
    expect(parseMarker('garbage')).toBeUndefined();
    expect(parseMarker(`${id}.sig.notanumber`)).toBeUndefined();
    expect(parseMarker(`${id}.sig.0`)).toBeUndefined();
    expect(parseMarker(`short.sig.1234`)).toBeUndefined();
  });
});
