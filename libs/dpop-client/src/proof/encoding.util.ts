/**
 * Base64url and UTF-8 on plain `Uint8Array`s, so that the core runs where `Buffer` does not
 * (browsers, Deno, edge workers). `btoa`/`atob` are in every runtime the package supports.
 */

const encoder = new TextEncoder();

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Base64url without padding (RFC 7515 §2). */
export function base64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === 'string' ? utf8(bytes) : bytes;
  let binary = '';
  // In chunks: String.fromCharCode(...bytes) overflows the stack on large inputs.
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The bytes of a base64url string (padding optional). */
export function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A `Uint8Array` view of what a signer returned (`ArrayBuffer`, a typed array or a `Buffer`). */
export function asBytes(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return new Uint8Array(value);
}
