import type { ResolvedDPoPOptions } from 'nest-dpop';

/**
 * The `WWW-Authenticate` value for a 401 from the app's own token checks (RFC 9449 §7.1,
 * RFC 6750 §3): a `DPoP` challenge with the accepted algorithms when DPoP is on, and a `Bearer`
 * one unless DPoP is required. `error` is left out when no credentials were sent.
 */
export function authChallenge(dpop: ResolvedDPoPOptions, error?: 'invalid_token'): string {
  const err = error ? `error="${error}", ` : '';
  const challenges: string[] = [];
  if (dpop.enabled) challenges.push(`DPoP ${err}algs="${dpop.algorithms.join(' ')}"`);
  if (!dpop.enabled || !dpop.required) {
    challenges.push(error ? `Bearer error="${error}"` : 'Bearer');
  }
  return challenges.join(', ');
}
