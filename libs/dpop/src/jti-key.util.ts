import { createHash } from 'node:crypto';

/** jtis longer than this are stored as their SHA-256, so one entry's size stays bounded. */
export const MAX_STORED_JTI_LENGTH = 64;

/**
 * The form a jti is stored under: the jti itself when it is short, else `#` + base64url(SHA-256).
 * A jti that starts with `#` is always hashed, so a stored raw jti never starts with `#` and can
 * never collide with a hashed one.
 */
export function storedJti(jti: string): string {
  if (jti.length <= MAX_STORED_JTI_LENGTH && jti.charCodeAt(0) !== 0x23 /* # */) return jti;
  return '#' + createHash('sha256').update(jti, 'utf8').digest('base64url');
}
