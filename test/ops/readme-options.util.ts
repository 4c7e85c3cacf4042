/**
 * The options table of a README checked against the code: the properties of
 * `DPoPModuleOptions` read with the TypeScript compiler API from the interface's source, the
 * defaults that are constants from `DPOP_DEFAULTS`, the environment variables from
 * `dpopOptionsFromEnv`. A hand-kept list would rot exactly as the table did (issue 15).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { DPOP_DEFAULTS, dpopOptionsFromEnv } from 'nest-dpop';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OPTIONS_SOURCE = `${ROOT}libs/dpop/src/options/dpop-module-options.interface.ts`;
const ENV_SOURCE = `${ROOT}libs/dpop/src/options/dpop-options.resolver.ts`;

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** The property names of an interface declared in `file`, in declaration order. */
export function interfaceProperties(file: string, name: string): string[] {
  const declaration = parse(file).statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (declaration === undefined) throw new Error(`no interface ${name} in ${file}`);
  // An `extends` would hide properties from this reading: refuse rather than miss them.
  if (declaration.heritageClauses !== undefined) throw new Error(`${name} extends another type`);
  return declaration.members.filter(ts.isPropertySignature).map((m) => m.name.getText());
}

/** The options `dpopOptionsFromEnv` returns (`Pick<DPoPModuleOptions, 'a' | 'b'>`). */
export function envOptionNames(): string[] {
  const fn = parse(ENV_SOURCE).statements.find(
    (s): s is ts.FunctionDeclaration =>
      ts.isFunctionDeclaration(s) && s.name?.text === 'dpopOptionsFromEnv',
  );
  const picked =
    fn?.type !== undefined && ts.isTypeReferenceNode(fn.type)
      ? fn.type.typeArguments?.[1]
      : undefined;
  if (picked === undefined)
    throw new Error('dpopOptionsFromEnv does not return a Pick<…> any more');
  const literals = ts.isUnionTypeNode(picked) ? picked.types : [picked];
  return literals.map((t) => {
    if (!ts.isLiteralTypeNode(t) || !ts.isStringLiteral(t.literal))
      throw new Error('unexpected Pick member');
    return t.literal.text;
  });
}

/** The properties of `DPoPModuleOptions`, from its source. */
export const moduleOptionNames = (): string[] =>
  interfaceProperties(OPTIONS_SOURCE, 'DPoPModuleOptions');

/** One row of the options table. */
export interface OptionRow {
  line: number;
  option: string;
  env: string[];
  defaultText: string;
}

const cells = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

/**
 * The rows of the options table: the first table whose header starts with `| option |` and has
 * a `default` column (and should have an `env` one). Each row must name exactly one option in
 * backticks, so that every option is looked up on its own.
 */
export function optionRows(markdown: string): { rows: OptionRow[]; problems: string[] } {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^\|\s*option\s*\|/.test(l) && cells(l).includes('default'));
  if (start === -1)
    return { rows: [], problems: ['no options table (a header | option | … | default | …)'] };
  const header = cells(lines[start] ?? '');
  const column = { env: header.indexOf('env'), default: header.indexOf('default') };
  const problems: string[] = [];
  if (column.env === -1) problems.push(`line ${start + 1}: the options table has no env column`);
  const rows: OptionRow[] = [];
  for (let i = start + 2; i < lines.length && lines[i]?.trim().startsWith('|'); i++) {
    const row = cells(lines[i] ?? '');
    const first = row[0] ?? '';
    const names = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
    if (names.length !== 1 || first !== `\`${names[0]}\``) {
      problems.push(`line ${i + 1}: the option cell must name one option, got "${first}"`);
      continue;
    }
    const env = column.env === -1 ? '' : (row[column.env] ?? '');
    rows.push({
      line: i + 1,
      option: names[0] ?? '',
      env: [...env.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''),
      defaultText: row[column.default] ?? '',
    });
  }
  return { rows, problems };
}

/** How a constant default is written in the table: `120`, `EdDSA, Ed25519, ES256, RS256`. */
export const formatDefault = (value: unknown): string =>
  `\`${Array.isArray(value) ? value.join(', ') : String(value)}\``;

/** An environment value each kind of variable accepts, to see which option it sets. */
const SAMPLE_VALUES = ['true', '45', 'ES256'];

/** What is wrong with the options table of `markdown`; empty when it matches the code. */
export function optionTableProblems(markdown: string): string[] {
  const { rows, problems } = optionRows(markdown);
  const options = moduleOptionNames();
  const envOptions = envOptionNames();
  const envSource = readFileSync(ENV_SOURCE, 'utf8');
  const seen = new Map<string, number>();
  // Reported once by optionRows; not again for every row.
  const noEnvColumn = problems.some((p) => p.endsWith('has no env column'));
  for (const row of rows) {
    const where = `line ${row.line} (${row.option})`;
    if (!options.includes(row.option))
      problems.push(`${where}: not an option of DPoPModuleOptions`);
    if (seen.has(row.option)) problems.push(`${where}: also on line ${seen.get(row.option)}`);
    seen.set(row.option, row.line);
    if (Object.hasOwn(DPOP_DEFAULTS, row.option)) {
      const expected = formatDefault(DPOP_DEFAULTS[row.option as keyof typeof DPOP_DEFAULTS]);
      if (row.defaultText !== expected) {
        problems.push(`${where}: default "${row.defaultText}", DPOP_DEFAULTS says ${expected}`);
      }
    }
    if (envOptions.includes(row.option) && row.env.length === 0 && !noEnvColumn) {
      problems.push(`${where}: dpopOptionsFromEnv reads it, but no variable is named`);
    }
    if (!envOptions.includes(row.option) && row.env.length > 0) {
      problems.push(
        `${where}: names ${row.env.join(', ')}, but dpopOptionsFromEnv does not set it`,
      );
    }
    for (const name of row.env) {
      if (!envSource.includes(`'${name}'`)) problems.push(`${where}: ${name} is not read anywhere`);
    }
    // The first variable alone must set this option (the others refine it, e.g. DPOP_NONCE_*).
    const firstEnv = row.env[0];
    if (firstEnv !== undefined && envOptions.includes(row.option)) {
      const sets = SAMPLE_VALUES.some((value) => {
        try {
          return Object.hasOwn(dpopOptionsFromEnv({ [firstEnv]: value }), row.option);
        } catch {
          return false;
        }
      });
      if (!sets) problems.push(`${where}: ${row.env[0]} does not set ${row.option}`);
    }
  }
  for (const option of options) {
    if (!seen.has(option)) problems.push(`${option}: an option of DPoPModuleOptions without a row`);
  }
  return problems;
}
