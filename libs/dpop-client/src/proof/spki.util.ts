import type { DPoPPublicJwk } from './dpop-algorithms.table.js';
import { base64url, fromBase64url } from './encoding.util.js';

/**
 * A public JWK as an SPKI (RFC 5280 §4.1.2.7) PEM, written by hand: synchronous, and the same on
 * every runtime (WebCrypto cannot export Ed448 in browsers, and its `exportKey` is async).
 * Only public values are encoded.
 */

/** A DER length (X.690 §8.1.3): short form below 128, else the long form. */
function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, content: readonly number[] | Uint8Array): number[] {
  return [tag, ...length(content.length), ...content];
}

/** A positive DER INTEGER from big-endian bytes (leading zeros dropped, a sign byte added). */
function integer(bytes: Uint8Array): number[] {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = [...bytes.subarray(start)];
  if (value[0]! & 0x80) value.unshift(0);
  return tlv(0x02, value);
}

/** DER of the object identifiers used here (dotted form → X.690 §8.19). */
function oid(dotted: string): number[] {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const body = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    body.push(...chunk);
  }
  return tlv(0x06, body);
}

const CURVE_OIDS = {
  'P-256': '1.2.840.10045.3.1.7',
  'P-384': '1.3.132.0.34',
  'P-521': '1.3.132.0.35',
};

/** The SubjectPublicKeyInfo DER of a public JWK. */
export function spkiOf(jwk: DPoPPublicJwk): Uint8Array {
  let algorithm: number[];
  let key: number[];
  switch (jwk.kty) {
    case 'OKP':
      algorithm = tlv(0x30, oid(jwk.crv === 'Ed25519' ? '1.3.101.112' : '1.3.101.113'));
      key = [...fromBase64url(jwk.x)];
      break;
    case 'EC':
      algorithm = tlv(0x30, [...oid('1.2.840.10045.2.1'), ...oid(CURVE_OIDS[jwk.crv])]);
      key = [0x04, ...fromBase64url(jwk.x), ...fromBase64url(jwk.y)];
      break;
    case 'RSA':
      // rsaEncryption with NULL parameters; the key is RSAPublicKey { n, e } (RFC 8017 A.1.1).
      algorithm = tlv(0x30, [...oid('1.2.840.113549.1.1.1'), 0x05, 0x00]);
      key = tlv(0x30, [...integer(fromBase64url(jwk.n)), ...integer(fromBase64url(jwk.e))]);
      break;
  }
  // BIT STRING: a leading 0 (no unused bits).
  return new Uint8Array(tlv(0x30, [...algorithm, ...tlv(0x03, [0, ...key])]));
}

/** The SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of a public JWK. */
export function spkiPem(jwk: DPoPPublicJwk): string {
  const b64 = base64url(spkiOf(jwk)).replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const lines = padded.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}
