import { readFileSync } from 'node:fs';
import { createDPoPFetch } from '../fetch/dpop-fetch.js';
import { DPoPNonceStore } from '../fetch/dpop-nonce.store.js';
import { parseArgs, required, text, texts, UsageError } from './cli-args.util.js';
import { loadKey, SIGNING_KEY_OPTIONS, type CliIo } from './cli-keys.util.js';
import { accessToken, TOKEN_OPTIONS } from './cli-token.util.js';

/**
 * `dpop request METHOD URL`: one request with a fresh proof, and the `use_dpop_nonce` round trip
 * done here (RFC 9449 §8, §9), so that a shell user never meets a server's nonce window (after a
 * first deploy or a Redis restart, `nest-dpop` asks for a nonce for about a minute).
 */

const REQUEST_OPTIONS = {
  ...SIGNING_KEY_OPTIONS,
  ...TOKEN_OPTIONS,
  'token-type': 'string',
  data: 'string',
  header: 'strings',
  nonce: 'string',
  include: 'boolean',
  timeout: 'string',
} as const;

/** `--data`: the text itself, `@FILE`, or `@-` for stdin (as curl reads it). */
function body(data: string | undefined): string | undefined {
  if (data === undefined || !data.startsWith('@')) return data;
  const path = data.slice(1);
  if (path === '') throw new UsageError('--data @ needs a file name (or @- for stdin)');
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read --data ${data}: ${(cause as Error).message}`);
  }
}

/** `--header 'Name: value'`, each one. */
function headersOf(values: readonly string[]): Headers {
  const headers = new Headers();
  for (const value of values) {
    const colon = value.indexOf(':');
    const name = colon > 0 ? value.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new UsageError(`--header must be "Name: value", got "${value}"`);
    }
    if (/^(?:dpop|authorization)$/i.test(name)) {
      // The proof and the token are this command's job: a second one would be refused anyway.
      throw new UsageError(`--header ${name} is set by the command (use --token)`);
    }
    headers.append(name, value.slice(colon + 1).trim());
  }
  return headers;
}

/** @returns the exit code: 0 for a 2xx answer, else 1 */
export async function request(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, REQUEST_OPTIONS);
  const [method, url, extra] = args.positionals;
  if (method === undefined || url === undefined) {
    throw new UsageError('request needs METHOD and URL');
  }
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  const tokenType = text(args, 'token-type') ?? 'DPoP';
  if (tokenType !== 'DPoP' && tokenType !== 'Bearer') {
    throw new UsageError('--token-type must be DPoP or Bearer');
  }
  const timeout = text(args, 'timeout') ?? '30';
  if (!/^\d+$/.test(timeout) || Number(timeout) === 0) {
    throw new UsageError('--timeout must be a whole number of seconds');
  }
  required(args, 'key');
  const token = accessToken(args, io);
  const headers = headersOf(texts(args, 'header'));
  const data = body(text(args, 'data'));
  if (data !== undefined && !headers.has('Content-Type')) {
    headers.set('Content-Type', 'application/json');
  }
  const generator = await loadKey(args, io);

  // Counts the attempts, to say when the nonce round trip happened.
  let attempts = 0;
  const nonces = new DPoPNonceStore();
  const nonce = text(args, 'nonce');
  // The first proof carries it: the store hands it out for the URL's origin.
  if (nonce !== undefined) nonces.set(url, nonce);
  const dpopFetch = createDPoPFetch(generator, {
    nonces,
    fetch: (input, init) => {
      attempts++;
      return fetch(input, init);
    },
  });
  const response = await dpopFetch(url, {
    method,
    headers,
    body: data,
    accessToken: token,
    tokenType,
    signal: AbortSignal.timeout(Number(timeout) * 1000),
  });
  if (attempts > 1) {
    io.stderr('The server asked for a nonce (use_dpop_nonce): retried with it.\n');
  }
  io.stderr(`HTTP ${response.status} ${response.statusText}\n`);
  if (args.options.has('include')) {
    for (const [name, value] of response.headers) io.stderr(`${name}: ${value}\n`);
  }
  const answer = await response.text();
  if (answer !== '') io.stdout(answer.endsWith('\n') ? answer : `${answer}\n`);
  return response.ok ? 0 : 1;
}
