import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { b64 } from '../support/proofs.js';
import type { Harness } from './app-harness.js';

/** The audience and type of each token kind, as the server issues them. */
export const KIND = {
  temp: { aud: 'arcp:validate', token_type: 'temp' },
  validated: { aud: 'arcp:register', token_type: 'validated' },
  access: { aud: 'arcp:operations', token_type: 'access' },
} as const;

/**
 * Signs a token the way the server does (its key, issuer and claim set) but with any claims:
 * for expired or wrong-audience tokens. `key` signs with another (EdDSA) key instead.
 */
export async function forgeToken(
  h: Harness,
  agentId: string,
  claims: Record<string, unknown>,
  key: KeyObject = h.signingKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: h.config.issuer,
    sub: agentId,
    agent_id: agentId,
    agent_type: 'security',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .sign(key);
}

/** A key the server has never seen. */
export function foreignKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

/** Replaces a JWT's payload and keeps its signature (which no longer matches). */
export function tamper(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.');
  const json = Buffer.from(payload!, 'base64url').toString('utf8');
  const claims = JSON.parse(json) as Record<string, unknown>;
  change(claims);
  return `${header}.${b64(claims)}.${signature}`;
}

/** An unsigned (`alg: none`) token with the given claims. */
export function unsigned(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}
