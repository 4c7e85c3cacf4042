import { describe, expect, it } from '@jest/globals';
import type { VerifiedAccessToken } from '../access-token/access-token.types.js';
import { checkResourceAudience } from './access-token-rules.util.js';

const token = (aud: unknown): VerifiedAccessToken => ({
  format: 'jwt',
  claims: { aud },
  scopes: [],
});

describe('checkResourceAudience', () => {
  it("passes a token for the resource, and refuses one for another naming claim 'aud'", () => {
    expect(() =>
      checkResourceAudience(token('https://a.example/mcp'), 'https://a.example/mcp'),
    ).not.toThrow();
    expect(() =>
      checkResourceAudience(token(['x', 'https://a.example/mcp']), 'https://a.example/mcp'),
    ).not.toThrow();
    expect(() => checkResourceAudience(token('https://a.example/other'), undefined)).not.toThrow();
    expect(() =>
      checkResourceAudience(token('https://a.example/other'), 'https://a.example/mcp'),
    ).toThrow(expect.objectContaining({ code: 'ERR_DPOP_TOKEN_INVALID', claim: 'aud' }));
  });
});
