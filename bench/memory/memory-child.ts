/**
 * Child process of the memory benchmark (needs `--expose-gc`): fills an `InMemoryJtiStore` with
 * 1,000,000 live jtis and prints the heap growth per entry as JSON on stdout.
 *
 * Usage: node --expose-gc dist/bench/memory/memory-child.js uuid|b64 [entries]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { InMemoryJtiStore } from 'nest-dpop';
import type { MemoryResult, JtiKind } from './memory.bench.js';

const kind = process.argv[2] as JtiKind;
const entries = Number(process.argv[3] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('memory-child: run with --expose-gc');
if (kind !== 'uuid' && kind !== 'b64') throw new Error('memory-child: kind must be uuid or b64');

/**
 * A jti as the store receives it: parsed out of a proof payload, as the verifier does, so that the
 * string has the representation V8 gives it in production. UUIDs (36 characters) are what most
 * clients send; 32 random bytes in base64url (43 characters) is the other common form.
 */
function nextJti(): string {
  const raw = kind === 'uuid' ? randomUUID() : randomBytes(32).toString('base64url');
  return (JSON.parse(`{"jti":"${raw}","htm":"POST"}`) as { jti: string }).jti;
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

// The replay window of the default settings (proofTtl 120 s + clockSkew 60 s): all stay live.
const ttlMs = 180_000;
const store = new InMemoryJtiStore({ maxEntries: entries });
const before = heapUsed();
for (let i = 0; i < entries; i++) void store.recordIfNew(nextJti(), ttlMs);
const after = heapUsed();
if (store.size !== entries) throw new Error(`memory-child: store holds ${store.size} entries`);
const jtiLength = nextJti().length;
store.clear();
store.onModuleDestroy();

// The same number of jti strings alone, held by a preallocated array (8 bytes a slot), to split
// the total into the strings themselves and the store's own overhead.
const strings = Array.from<string>({ length: entries }).fill('');
const stringsBefore = heapUsed();
for (let i = 0; i < entries; i++) strings[i] = nextJti();
const stringsAfter = heapUsed();
// Uses the array after the measurement: otherwise V8 may see it as dead and collect it first.
if (strings[entries - 1]!.length !== jtiLength) throw new Error('memory-child: jti length varies');

const result: MemoryResult = {
  kind,
  entries,
  jtiLength,
  bytesPerEntry: (after - before) / entries,
  stringBytesPerEntry: (stringsAfter - stringsBefore) / entries,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
