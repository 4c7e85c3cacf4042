import { timingSafeEqual } from 'node:crypto';
import { invalidProofError } from './dpop.errors.js';
import { decodeBase64url } from './dpop-jwk.util.js';

/** JWS compact-serialisation helpers of the verifier (RFC 7515), strict about spelling. */

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A base64url segment holding a JSON object, or `undefined`. */
export function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(segment);
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * `typ` as a media type (RFC 7515 §4.1.9): case-insensitive, and `application/` may be left
 * out when no other `/` appears, so `dpop+jwt` and `application/dpop+jwt` are the same.
 */
export function isDPoPType(typ: unknown): boolean {
  if (typ === 'dpop+jwt') return true;
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return lower === 'dpop+jwt' || lower === 'application/dpop+jwt';
}

/**
 * The structural refusal, checked only once something else failed: a proof that verifies is
 * already three canonical base64url segments (see `check`), so valid proofs skip a regex over
 * the whole proof, while an invalid one still gets this error ahead of any other, as ever.
 */
export function assertCompactJws(compact: string): void {
  if (!COMPACT_JWS.test(compact)) {
    throw invalidProofError(
      'ERR_DPOP_MALFORMED',
      'not a compact JWS (three segments of base64url without padding, RFC 7515 §2)',
    );
  }
}

/** Constant-time string equality (lengths are not secret here). */
export function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
