import { connect } from 'node:net';

/** One raw HTTP/1.1 exchange: nothing on the client side merges or drops a header. */
export function raw(
  port: number,
  text: string,
): Promise<{ status: number; body: string; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const end = data.indexOf('\r\n\r\n');
      const length = /content-length: *([0-9]+)/i.exec(data)?.[1];
      if (end !== -1 && length !== undefined && data.length >= end + 4 + Number(length)) {
        socket.destroy();
        finish();
      }
    });
    const finish = () => {
      const end = data.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 ([0-9]{3})/.exec(data)?.[1] ?? 0),
        head: data.slice(0, end),
        body: data.slice(end + 4),
      });
    };
    socket.on('end', finish);
    socket.on('error', reject);
  });
}
