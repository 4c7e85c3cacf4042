import { parseArgs as nodeParseArgs } from 'node:util';
import { DPOP_CLIENT_ALGORITHMS, type DPoPClientAlgorithm } from '../proof/dpop-generator.js';

/** The `dpop` CLI's argument parsing: `node:util` `parseArgs`, strict, in the CLI's own words. */

/** A usage error: exit code 2 and a pointer to `dpop help`. */
export class UsageError extends Error {}

/** `strings`: a string option that may be given several times (e.g. `--header`). */
export type OptionKind = 'string' | 'boolean' | 'strings';

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true | string[]>;
}

/** Options whose value, when given, must not be empty: `--token ""` is an unset variable. */
const NON_EMPTY = new Set([
  'token',
  'token-file',
  'nonce',
  'key',
  'url',
  'agent-id',
  'agent-key',
  'alg',
  'out',
]);

/**
 * `node:util` `parseArgs` in strict mode: unknown options and missing values are usage errors,
 * not surprises, and its errors are turned into the CLI's usage messages.
 */
export function parseArgs(
  argv: readonly string[],
  spec: Readonly<Record<string, OptionKind>>,
): ParsedArgs {
  let parsed: ReturnType<typeof parseArgsStrict>;
  try {
    parsed = parseArgsStrict(argv, spec);
  } catch (error) {
    throw new UsageError(usageMessage(error));
  }
  const options = new Map<string, string | true | string[]>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined || value === false) continue;
    if (Array.isArray(value)) {
      options.set(name, value.map(String));
      continue;
    }
    if (value === '' && NON_EMPTY.has(name)) {
      // Most often `--token "$TOKEN"` with TOKEN unset: say so rather than send a bad proof.
      throw new UsageError(`--${name} must not be empty (is the variable you passed set?)`);
    }
    options.set(name, value);
  }
  return { positionals: parsed.positionals, options };
}

function parseArgsStrict(argv: readonly string[], spec: Readonly<Record<string, OptionKind>>) {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, kind]) => [
      name,
      kind === 'strings' ? { type: 'string', multiple: true } : { type: kind },
    ]),
  ) as Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  return nodeParseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
}

/** `parseArgs`' error, in this CLI's words. */
function usageMessage(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('does not take an argument')
        ? `${option ?? 'this option'} takes no value`
        : `${option ?? 'this option'} needs a value`;
    default:
      return message;
  }
}

export function noPositionals(args: ParsedArgs): void {
  const [first] = args.positionals;
  if (first !== undefined) throw new UsageError(`unexpected argument ${first}`);
}

export function text(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** Every value of an option that may repeat (`strings`). */
export function texts(args: ParsedArgs, name: string): string[] {
  const value = args.options.get(name);
  return Array.isArray(value) ? value : [];
}

export function required(args: ParsedArgs, name: string): string {
  const value = text(args, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function algorithm(value: string | undefined): DPoPClientAlgorithm {
  const alg = value ?? 'EdDSA';
  if (!(DPOP_CLIENT_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(`--alg must be one of ${DPOP_CLIENT_ALGORITHMS.join(', ')}`);
  }
  return alg as DPoPClientAlgorithm;
}
