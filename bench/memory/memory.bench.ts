import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Which jti form the store is filled with. */
export type JtiKind = 'uuid' | 'b64';

/** Heap cost of the memory store, per live jti. */
export interface MemoryResult {
  readonly kind: JtiKind;
  readonly entries: number;
  readonly jtiLength: number;
  /** `heapUsed` growth per entry with the store full, after full GCs: the store's real cost. */
  readonly bytesPerEntry: number;
  /** Of which the jti string itself (measured alone in the same process). */
  readonly stringBytesPerEntry: number;
}

const CHILD = fileURLToPath(new URL('./memory-child.js', import.meta.url));

/**
 * Fills an `InMemoryJtiStore` with `entries` live jtis in a fresh child process (started with
 * `--expose-gc`, so its heap holds nothing but the store) and reports the heap growth per entry.
 */
export async function benchMemory(kind: JtiKind, entries = 1_000_000): Promise<MemoryResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', CHILD, kind, String(entries)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as MemoryResult;
}
