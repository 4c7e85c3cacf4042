import { loadGenerator } from '../keys/node-generator.js';
import type { DPoPGenerator } from '../proof/dpop-generator.js';
import { algorithm, required, text, UsageError, type ParsedArgs } from './cli-args.util.js';

/** What every `dpop` command shares: where it writes, and how it loads the key. */

/** Where the CLI writes and what it reads: the process's own, or a test's. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

export const KEY_OPTIONS = { key: 'string', 'passphrase-env': 'string' } as const;
/** Commands that sign: `--alg` picks another algorithm the key suits (e.g. PS256 for RSA). */
export const SIGNING_KEY_OPTIONS = { ...KEY_OPTIONS, alg: 'string' } as const;

/** The passphrase of an encrypted PEM key file, from the variable `--passphrase-env` names. */
export function passphrase(args: ParsedArgs, io: CliIo): string | undefined {
  const name = text(args, 'passphrase-env');
  if (name === undefined) return undefined;
  const value = io.env[name];
  if (value === undefined || value === '') {
    throw new UsageError(`environment variable ${name} is not set`);
  }
  return value;
}

/** The generator for `--key FILE` (with `--alg` and `--passphrase-env` when given). */
export function loadKey(args: ParsedArgs, io: CliIo): Promise<DPoPGenerator> {
  const alg = text(args, 'alg');
  return loadGenerator(required(args, 'key'), {
    passphrase: passphrase(args, io),
    ...(alg !== undefined && { algorithm: algorithm(alg) }),
  });
}
