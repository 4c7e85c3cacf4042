import { describe, expect, it } from '@jest/globals';
import { dpopChallengeError, parseWwwAuthenticate } from './www-authenticate.util.js';

describe('parseWwwAuthenticate', () => {
  it('reads the challenge the server library sends', () => {
    expect(
      parseWwwAuthenticate(
        'DPoP error="invalid_dpop_proof", error_description="DPoP proof has expired", ' +
          'algs="EdDSA ES256 RS256"',
      ),
    ).toEqual([
      {
        scheme: 'DPoP',
        params: {
          error: 'invalid_dpop_proof',
          error_description: 'DPoP proof has expired',
          algs: 'EdDSA ES256 RS256',
        },
      },
    ]);
  });

  it('separates several challenges, whose parameters are also comma-separated', () => {
    const challenges = parseWwwAuthenticate(
      'Bearer realm="api", error="invalid_token", DPoP error="use_dpop_nonce", algs="ES256",' +
        'Basic YWxhZGRpbjpvcGVuc2VzYW1l==',
    );
    expect(challenges).toEqual([
      { scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token' } },
      { scheme: 'DPoP', params: { error: 'use_dpop_nonce', algs: 'ES256' } },
      { scheme: 'Basic', params: {}, token68: 'YWxhZGRpbjpvcGVuc2VzYW1l==' },
    ]);
  });

  it('handles escapes in quoted strings, token values, spaces around = and case', () => {
    const header = 'dpop ERROR = use_dpop_nonce , error_description="say \\"hi\\", ok"';
    expect(parseWwwAuthenticate(header)).toEqual([
      { scheme: 'dpop', params: { error: 'use_dpop_nonce', error_description: 'say "hi", ok' } },
    ]);
    expect(parseWwwAuthenticate('DPoP algs="ES256"')[0]?.params).toEqual({ algs: 'ES256' });
    expect(parseWwwAuthenticate('DPoP')).toEqual([{ scheme: 'DPoP', params: {} }]);
  });

  it('never throws on malformed input', () => {
    const malformed = ['', ',,,', '"', 'DPoP error="unterminated', 'DPoP =x', '=', 'DPoP error='];
    for (const header of malformed) {
      expect(() => parseWwwAuthenticate(header)).not.toThrow();
    }
  });
});

describe('dpopChallengeError', () => {
  it('finds the DPoP challenge among others', () => {
    const both = 'Bearer error="invalid_token", DPoP error="use_dpop_nonce"';
    expect(dpopChallengeError(both)).toBe('use_dpop_nonce');
    expect(dpopChallengeError('Bearer error="use_dpop_nonce"')).toBeUndefined();
    expect(dpopChallengeError('DPoP algs="ES256"')).toBeUndefined();
    expect(dpopChallengeError(null)).toBeUndefined();
  });
});
