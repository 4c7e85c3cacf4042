/**
 * The TypeScript blocks of the docs, type-checked as a user would paste them: every ```ts block
 * of README.md, the two package READMEs and docs/*.md becomes its own module of one in-memory
 * Program, compiled with the repository's tsconfig.json (strict, nodenext), where `nest-dpop`
 * and `nest-dpop-client` (and their subpaths) are the workspace sources, as `paths` maps them.
 * A snippet that did not compile reached the docs anyway more than once (a registration missing
 * fields, a JWK type the signer did not take); a reader finds out at their first `tsc`.
 *
 * A block that is deliberately a fragment (a call without its imports, `…` in place of code)
 * says so right before it, with a reason: `<!-- doc-snippets: fragment (why) -->`. It is listed
 * and skipped, never skipped silently. A block that uses names an earlier block or the prose
 * defined (`app`, `client`, a `kmsSign` of yours) is checked all the same, with those names
 * declared right before it: `<!-- doc-snippets: given: declare const app: import('@nestjs/common').INestApplication; -->`
 * (types from a package by `import('…')`); the declarations are compiled as the block's first
 * line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MARKER = /^<!--\s*doc-snippets:\s*(fragment|given)\b:?\s*(.*?)\s*-->$/;

/**
 * Packages some snippets import that this repository does not install (`@nestjs/jwt`,
 * passport, the AWS SDK, Vitest): declared loosely here (`any`, or a class where a snippet uses
 * one as a type), so that the rest of the snippet, its use of nest-dpop above all, is still
 * checked. Kept short on purpose.
 */
export const UNINSTALLED_PACKAGES: Readonly<Record<string, string | undefined>> = {
  '@nestjs/jwt': 'export class JwtService { signAsync(payload: object): Promise<string>; }',
  '@nestjs/passport': undefined,
  'passport-jwt': undefined,
  '@aws-sdk/client-kms': undefined,
  vitest: undefined,
};

/** A ```ts block: the markdown file (relative to the root), the line of its opening fence. */
export interface Snippet {
  file: string;
  line: number;
  code: string;
  /** Why it is not checked, when it is marked as a fragment. */
  fragment?: string;
  /** Declarations compiled before the block (names the block uses but does not define). */
  given?: string;
}

/** The ```ts / ```typescript blocks of one markdown text, with the fragment marker before each. */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  let previous = '';
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i] ?? '');
    if (!open) {
      if ((lines[i] ?? '').trim() !== '') previous = (lines[i] ?? '').trim();
      continue;
    }
    const [, indent = '', fence = '```', info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const text = lines[j] ?? '';
      const close = text.trim();
      if (close.length >= fence.length && close === fence[0]!.repeat(close.length)) break;
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text);
    }
    if (info === 'ts' || info === 'typescript') {
      const marker = MARKER.exec(previous);
      snippets.push({
        file,
        line: i + 1,
        code: body.join('\n'),
        ...(marker?.[1] === 'fragment'
          ? { fragment: marker[2]?.replace(/^\((.*)\)$/, '$1') || 'no reason given' }
          : {}),
        ...(marker?.[1] === 'given' ? { given: marker[2] ?? '' } : {}),
      });
    }
    previous = '';
    i = j;
  }
  return snippets;
}

/** The markdown files whose snippets are checked, relative to the root. */
export function documentedFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', 'libs/dpop/README.md', 'libs/dpop-client/README.md', ...docs];
}

export function allSnippets(files = documentedFiles()): Snippet[] {
  return files.flatMap((file) => extractSnippets(file, readFileSync(join(ROOT, file), 'utf8')));
}

/** Where a snippet lives in the Program: a module of its own (names never clash across snippets). */
function virtualName(snippet: Snippet, index: number): string {
  const base = snippet.file.replace(/[^\w]+/g, '_');
  return join(ROOT, '.doc-snippets', `${base}_L${snippet.line}_${index}.ts`);
}

/**
 * Type-checks the snippets (fragments excluded) in one Program and returns one message per
 * error, as `file.md:line: TSnnnn message`, with the line in the markdown file.
 */
export function checkSnippets(snippets: Snippet[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    { noEmit: true, incremental: false, declaration: false, sourceMap: false },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        ts.sys.write(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const virtual = new Map<string, { snippet: Snippet; text: string }>();
  snippets.forEach((snippet, index) => {
    if (snippet.fragment !== undefined) return;
    // `export {}` makes a block without import/export a module too (top-level await, own scope).
    // The given declarations take the line of the marker, right before the opening fence.
    const text = `${snippet.given ?? ''}\n${snippet.code}\nexport {};\n`;
    virtual.set(virtualName(snippet, index), { snippet, text });
  });
  const ambient = join(ROOT, '.doc-snippets', 'uninstalled-packages.d.ts');
  const ambientText = Object.entries(UNINSTALLED_PACKAGES)
    .map(([name, body]) =>
      body === undefined ? `declare module '${name}';` : `declare module '${name}' { ${body} }`,
    )
    .join('\n');
  const host = ts.createCompilerHost(config.options, true);
  const read = (name: string) =>
    name === ambient ? ambientText : (virtual.get(name)?.text ?? undefined);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => read(name) !== undefined || fileExists.call(host, name);
  host.readFile = (name) => read(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, language, onError, create) => {
    const text = read(name);
    return text !== undefined
      ? ts.createSourceFile(name, text, language)
      : getSourceFile.call(host, name, language, onError, create);
  };
  const program = ts.createProgram({
    rootNames: [ambient, ...virtual.keys()],
    options: config.options,
    host,
  });
  const messages: string[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const entry = diagnostic.file ? virtual.get(diagnostic.file.fileName) : undefined;
    if (diagnostic.file === undefined || entry === undefined) {
      // An error outside the snippets (the sources the snippets import): named as it is.
      const where = diagnostic.file
        ? `${relative(ROOT, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}`
        : 'tsconfig';
      messages.push(`${where}: TS${diagnostic.code} ${message}`);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    // Line 0 is the given declarations (the marker, right before the fence on snippet.line),
    // line 1 the snippet's first line (snippet.line + 1).
    const at = line === 0 ? entry.snippet.line - 1 : entry.snippet.line + line;
    messages.push(`${entry.snippet.file}:${at}: TS${diagnostic.code} ${message}`);
  }
  return messages;
}
