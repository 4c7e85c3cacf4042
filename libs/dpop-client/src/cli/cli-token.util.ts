import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { text, UsageError, type ParsedArgs } from './cli-args.util.js';
import type { CliIo } from './cli-keys.util.js';

/**
 * Where a `dpop` command gets its access token. `--token TOKEN` puts the token in argv, which
 * any user of the machine can read (`ps`, `/proc/PID/cmdline`); `--token-file PATH` and the
 * `DPOP_TOKEN` environment variable keep it out of there.
 */

/** The options of every command that takes an access token. */
export const TOKEN_OPTIONS = { token: 'string', 'token-file': 'string' } as const;

/** The variable read when neither `--token` nor `--token-file` is given. */
export const TOKEN_ENV = 'DPOP_TOKEN';

const GROUP_OR_OTHER = 0o077;

/**
 * The access token from `--token`, `--token-file` or `DPOP_TOKEN` (in that order; the two
 * options together are a usage error), or `undefined` when none is given. An empty
 * `DPOP_TOKEN` counts as unset, as an empty `ARCP_AGENT_KEY` does.
 *
 * @throws {UsageError} for `--token` with `--token-file`, or an empty token file
 * @throws {Error} for a token file that cannot be read or that group or others may access
 */
export function accessToken(args: ParsedArgs, io: CliIo): string | undefined {
  const inline = text(args, 'token');
  const file = text(args, 'token-file');
  if (inline !== undefined && file !== undefined) {
    throw new UsageError('--token and --token-file are two ways to say one thing: give one');
  }
  if (inline !== undefined) return inline;
  if (file !== undefined) return readTokenFile(file);
  const fromEnv = io.env[TOKEN_ENV];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  // Said, because a variable exported for one command also reaches the next one: a proof for
  // a token endpoint should not carry an ath nobody meant.
  io.stderr(`Using the access token in ${TOKEN_ENV}.\n`);
  return fromEnv;
}

/** {@link accessToken}, for a command that cannot run without one. */
export function requiredAccessToken(args: ParsedArgs, io: CliIo): string {
  const token = accessToken(args, io);
  if (token === undefined) {
    throw new UsageError(`--token, --token-file or ${TOKEN_ENV} is required`);
  }
  return token;
}

/**
 * Reads a token file as key files are read: opened once, its mode checked on that descriptor,
 * then read. A loose file is refused rather than warned about: a token presented as Bearer is a
 * credential on its own. One trailing newline, as `echo` and editors leave it, is not part of
 * the token.
 */
function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new Error(`cannot read token file ${path}: ${(cause as Error).message}`, { cause });
  }
  let content: string;
  try {
    const stat = fstatSync(fd);
    // A FIFO is allowed, so that `--token-file <(pass show my-agent)` works.
    if (!stat.isFile() && !stat.isFIFO()) throw new Error(`${path} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & GROUP_OR_OTHER) !== 0) {
      const octal = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new Error(
        `token file ${path} is accessible by group or others (mode ${octal}); ` +
          `run: chmod 600 ${path}`,
      );
    }
    content = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const token = content.replace(/\r?\n$/, '');
  if (token === '') throw new UsageError(`token file ${path} is empty`);
  if (/[\r\n]/.test(token)) {
    // Two lines is not a token; sending the first would hide which one the user meant.
    throw new UsageError(`token file ${path} holds more than one line`);
  }
  return token;
}
