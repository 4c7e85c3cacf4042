import { invalidProofError } from '../errors/dpop.errors.js';
import { decodeBase64url, decodeBase64urlInto } from './proof-jwk.util.js';

/** JWS compact-serialisation helpers of the verifier (RFC 7515), strict about spelling. */

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * A base64url segment holding a JSON object, or `undefined`. With `scratch` (at least as long
 * as the segment), the bytes are decoded there instead of into a new Buffer.
 */
export function parseJsonObject(
  segment: string,
  scratch?: Buffer,
): Record<string, unknown> | undefined {
  let text: string;
  if (scratch === undefined) {
    const bytes = decodeBase64url(segment);
    if (bytes === undefined) return undefined;
    text = bytes.toString('utf8');
  } else {
    const length = decodeBase64urlInto(segment, scratch, 0);
    if (length === undefined) return undefined;
    text = scratch.toString('utf8', 0, length);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
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

/**
 * Constant-time string equality (lengths are not secret here): every UTF-16 code unit is
 * compared, with no early exit, so the time does not tell where two strings of one length
 * differ. A loop rather than `timingSafeEqual`, which would need two Buffers per call.
 */
export function equalStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
