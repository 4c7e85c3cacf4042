import { connect } from 'node:net';

/**
 * One raw HTTP/2 exchange over cleartext (h2c, prior knowledge): the request's header block is
 * written by hand (HPACK literals, no compression), so that nothing on the client side merges,
 * drops or refuses a header: Node's own `http2` client throws on a second `authorization`.
 * Returns the response body (DATA frames of stream 1); the status is read from the problem
 * document the library sends, since decoding the server's compressed headers is not needed.
 */
export function rawHttp2(
  port: number,
  headers: readonly (readonly [string, string])[],
): Promise<{ body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
          frame(4, 0, 0, Buffer.alloc(0)), // SETTINGS, none changed
          frame(1, 0x1 | 0x4, 1, headerBlock(headers)), // HEADERS, END_STREAM | END_HEADERS
        ]),
      );
    });
    let pending = Buffer.alloc(0);
    const body: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        const stream = pending.readUInt32BE(5) & 0x7fffffff;
        let payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === 4 && (flags & 0x1) === 0) socket.write(frame(4, 0x1, 0, Buffer.alloc(0)));
        if (type === 3 || type === 7) {
          socket.destroy();
          return reject(new Error(`stream reset or connection closed (frame type ${type})`));
        }
        if (stream !== 1 || (type !== 0 && type !== 1)) continue;
        if (type === 0) {
          if (flags & 0x8) payload = payload.subarray(1, payload.length - payload[0]!);
          body.push(payload);
        }
        if (flags & 0x1) {
          socket.end();
          return resolve({ body: Buffer.concat(body).toString('utf8') });
        }
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed before the response ended')));
  });
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK (RFC 7541 §6.2.2): each field a literal without indexing, with a literal name. */
function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  }
  return Buffer.concat(parts);
}

/** A string literal (no Huffman): its length as a 7-bit-prefix integer (RFC 7541 §5.1), then it. */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const length: number[] = [];
  let n = bytes.length;
  if (n < 127) length.push(n);
  else {
    length.push(127);
    n -= 127;
    while (n >= 128) {
      length.push((n % 128) + 128);
      n = Math.floor(n / 128);
    }
    length.push(n);
  }
  return Buffer.concat([Buffer.from(length), bytes]);
}
