import { DPoPClientError } from '../errors/client.errors.js';

/**
 * ECDSA signatures in the JOSE form (RFC 7518 §3.4: `r || s`, each left-padded to the curve's
 * coordinate length) from the DER `Ecdsa-Sig-Value` (RFC 3279 §2.2.3) that X.509-minded signers
 * return: AWS KMS, Google Cloud KMS, OpenSSL, Java, `node:crypto` by default.
 */

function invalid(message: string): DPoPClientError {
  return new DPoPClientError('ERR_DPOP_CLIENT_INVALID_SIGNATURE', message);
}

/** Reads one DER INTEGER at `offset`: its unsigned big-endian value and the next offset. */
function readInteger(der: Uint8Array, offset: number): { value: Uint8Array; next: number } {
  if (der[offset] !== 0x02) throw invalid('DER signature: expected an INTEGER');
  const length = der[offset + 1];
  // r and s are at most 66 bytes (P-521) plus a sign byte: always the short length form.
  if (length === undefined || length === 0 || length > 0x7f) {
    throw invalid('DER signature: bad INTEGER length');
  }
  const start = offset + 2;
  const end = start + length;
  if (end > der.length) throw invalid('DER signature: truncated INTEGER');
  const value = der.subarray(start, end);
  if (value[0]! & 0x80) throw invalid('DER signature: negative INTEGER');
  // DER is minimal: a leading zero only before a byte with the high bit set.
  if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) {
    throw invalid('DER signature: INTEGER not minimally encoded');
  }
  return { value, next: end };
}

/** `value` as exactly `size` big-endian bytes (a sign byte dropped, left zero-padded). */
function fixedWidth(value: Uint8Array, size: number): Uint8Array {
  let bytes = value;
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length > size) throw invalid(`DER signature: an INTEGER longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(bytes, size - bytes.length);
  return out;
}

/**
 * The JOSE `r || s` form of a DER ECDSA signature, strictly parsed (one SEQUENCE of two positive,
 * minimally encoded INTEGERs that fit the curve, nothing after it).
 * @param coordinateLength bytes of each of `r` and `s`: 32 (P-256), 48 (P-384), 66 (P-521)
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_INVALID_SIGNATURE` for anything else
 */
export function derToJose(der: Uint8Array, coordinateLength: number): Uint8Array {
  if (der[0] !== 0x30) throw invalid('DER signature: expected a SEQUENCE');
  let offset = 2;
  let length = der[1];
  if (length === 0x81) {
    // P-521 signatures exceed 127 bytes: the one-byte long form.
    length = der[2];
    offset = 3;
    if (length === undefined || length < 0x80) {
      throw invalid('DER signature: SEQUENCE length not minimally encoded');
    }
  } else if (length === undefined || length > 0x7f) {
    throw invalid('DER signature: bad SEQUENCE length');
  }
  if (offset + length !== der.length) throw invalid('DER signature: length mismatch');
  const r = readInteger(der, offset);
  const s = readInteger(der, r.next);
  if (s.next !== der.length) throw invalid('DER signature: data after s');
  const out = new Uint8Array(coordinateLength * 2);
  out.set(fixedWidth(r.value, coordinateLength), 0);
  out.set(fixedWidth(s.value, coordinateLength), coordinateLength);
  if (out.subarray(0, coordinateLength).every((b) => b === 0)) throw invalid('r is zero');
  if (out.subarray(coordinateLength).every((b) => b === 0)) throw invalid('s is zero');
  return out;
}
