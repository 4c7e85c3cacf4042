import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';

/**
 * Bounds on request bodies, enforced by the body parser BEFORE anything walks the parsed value.
 * class-transformer and class-validator recurse over the body, so a 90 KB body nested 45 000
 * levels deep used to exhaust the stack (a 500 and a stack trace per request, ~70x the CPU of a
 * normal request). The largest ARCP body (a registration with full metadata) nests 3 levels and
 * stays well under these limits.
 */
export const BODY_LIMITS = {
  /** Largest body accepted, in bytes (413 above it). */
  maxBytes: 64 * 1024,
  /** Deepest nesting of objects and arrays accepted (400 above it). */
  maxDepth: 16,
  /** Most values (object members and array items) accepted in one body (400 above it). */
  maxValues: 4096,
} as const;

/** An error body-parser passes on with its own status (http-errors keeps `status`). */
class BodyRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'entity.refused',
  ) {
    super(message);
    (this as { expose?: boolean }).expose = true;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/**
 * One linear pass over the raw bytes: nesting depth and value count, outside strings. UTF-8
 * continuation bytes are all ≥ 0x80, so they can never be mistaken for a bracket or a quote.
 * Malformed JSON is left for the parser to refuse.
 * @throws BodyRefused (400) past {@link BODY_LIMITS}.maxDepth or .maxValues
 */
export function checkJsonShape(
  buf: Uint8Array,
  limits: { maxDepth: number; maxValues: number } = BODY_LIMITS,
): void {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const byte = buf[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > limits.maxDepth) {
        throw new BodyRefused(
          400,
          `Request body nests deeper than ${limits.maxDepth} levels`,
          'entity.too.deep',
        );
      }
      values++;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
    else if (byte === COMMA) values++;
    if (values > limits.maxValues) {
      throw new BodyRefused(
        400,
        `Request body holds more than ${limits.maxValues} values`,
        'entity.too.wide',
      );
    }
  }
}

/** JSON.parse reviver: prototype-setting keys never reach class-transformer. */
function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value;
}

function verifyJson(
  _req: IncomingMessage,
  _res: ServerResponse,
  buf: Buffer,
  encoding: string,
): void {
  // The byte scan is only valid for UTF-8 (the only charset ARCP clients send).
  if (encoding.toLowerCase() !== 'utf-8' && encoding.toLowerCase() !== 'utf8') {
    throw new BodyRefused(415, 'Request body must be UTF-8 JSON', 'charset.unsupported');
  }
  checkJsonShape(buf);
}

interface BodyParserApp {
  useBodyParser(type: string, options: Record<string, unknown>): unknown;
}

/**
 * Installs the app's JSON and form parsers with {@link BODY_LIMITS} (Nest then skips its default
 * ones). Call before `init()`/`listen()`. Compressed bodies are refused (415): a small gzip body
 * can inflate far past the size limit before it is counted.
 */
export function installBodyLimits(app: INestApplication): void {
  const parsers = app as unknown as BodyParserApp;
  parsers.useBodyParser('json', {
    limit: BODY_LIMITS.maxBytes,
    inflate: false,
    strict: true,
    reviver: dropPrototypeKeys,
    verify: verifyJson,
  });
  parsers.useBodyParser('urlencoded', {
    limit: BODY_LIMITS.maxBytes,
    inflate: false,
    extended: false,
    parameterLimit: 100,
  });
}
