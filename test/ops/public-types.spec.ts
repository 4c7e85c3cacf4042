import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { packageEntryPoints } from '../../scripts/typedoc/entry-points.mjs';

/**
 * Every type a public signature names is itself exported by an entry point of its package, so
 * that a user can name it (declare a variable of it, implement it, override a hook returning
 * it). Read with the TypeScript compiler from the written signatures of every entry point of
 * both packages; `npm run docs:api` checks the inferred ones too
 * (scripts/typedoc/not-exported.plugin.mjs). Left out, as there: `private` members, members
 * marked `@internal`, bodies and initializers, and `extends` clauses (the members a class or
 * interface inherits are shown as its own).
 */

const ENTRIES = packageEntryPoints();

/** The package's source folder a file is in (`…/libs/dpop/src/`), if any. */
const packageOf = (file: string): string | undefined => /^(.*\/libs\/[^/]+\/src\/)/.exec(file)?.[1];

function unnameable(): string[] {
  const program = ts.createProgram(
    ENTRIES.map((e) => e.file),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      experimentalDecorators: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    },
  );
  const checker = program.getTypeChecker();
  const resolve = (s: ts.Symbol): ts.Symbol =>
    s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;

  // What each entry point exports, resolved to the declarations' own symbols.
  const exported = new Map<ts.Symbol, string>();
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(entry.file);
    const module = source && checker.getSymbolAtLocation(source);
    if (module === undefined) throw new Error(`${entry.file} is not a module`);
    for (const s of checker.getExportsOfModule(module)) exported.set(resolve(s), entry.specifier);
  }

  const found = new Set<string>();
  const skipped = (node: ts.Node): boolean =>
    ts.isHeritageClause(node) ||
    ts.isBlock(node) ||
    ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) &&
      ts.isPrivateIdentifier(node.name)) ||
    (ts.canHaveModifiers(node) &&
      (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) ||
    ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal');

  const visit = (node: ts.Node, owner: string, home: string): void => {
    if (skipped(node)) return;
    // An initializer's type is inferred: only what is written in a signature is read here.
    if (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) {
      if (node.type !== undefined) visit(node.type, owner, home);
      return;
    }
    const name = ts.isTypeReferenceNode(node)
      ? node.typeName
      : ts.isTypeQueryNode(node)
        ? node.exprName
        : undefined;
    const target = name && checker.getSymbolAtLocation(name);
    if (target !== undefined) {
      const symbol = resolve(target);
      const declared = symbol.declarations?.[0]?.getSourceFile().fileName;
      const isTypeParameter = (symbol.flags & ts.SymbolFlags.TypeParameter) !== 0;
      if (!isTypeParameter && declared !== undefined && packageOf(declared) === home) {
        if (!exported.has(symbol)) found.add(`${owner} names ${symbol.getName()}`);
      }
    }
    ts.forEachChild(node, (child) => visit(child, owner, home));
  };

  for (const [symbol, specifier] of exported) {
    for (const declaration of symbol.declarations ?? []) {
      const home = packageOf(declaration.getSourceFile().fileName);
      if (home === undefined) continue;
      visit(declaration, `${specifier}: ${symbol.getName()}`, home);
    }
  }
  return [...found].sort();
}

describe('the types of the public signatures', () => {
  it('reads every entry point of both packages', () => {
    expect(ENTRIES.map((e) => e.specifier)).toEqual(
      expect.arrayContaining(['nest-dpop', 'nest-dpop/testing', 'nest-dpop-client/arcp']),
    );
  });

  it('are all exported (a user can name each)', () => {
    expect(unnameable()).toEqual([]);
  }, 60_000);
});
