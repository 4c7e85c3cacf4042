/**
 * A TypeDoc plugin that fails the API reference when a public signature names a type the
 * package does not export (a user can read such a field but cannot name its type).
 *
 * Why not TypeDoc's own `validation.notExported`: it skips every type declared outside the
 * package whose package.json it read, and it reads the workspace's (`nest-dpop-workspace`), not
 * `libs/dpop`'s or `libs/dpop-client`'s: to it, every type of both packages is a third party's,
 * so it never warned. Here "our" packages are those of the entry points, and a reference into one of them that resolves to nothing documented is a warning
 * (which `treatWarningsAsErrors` turns into a failed run). Types marked `@internal` are left
 * out on purpose, as TypeDoc's own check does.
 */
import { Application, makeRecursiveVisitor } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    // The packages of the entry points (their modules, or with one entry point its exports):
    // members inherited from a DOM or Node type are theirs, not ours.
    const ours = new Set(
      (project.children ?? [])
        .map((r) => project.getSymbolIdFromReflection(r)?.packageName)
        .filter(Boolean),
    );
    const reflections = Object.values(project.reflections);
    const warned = new Set();
    for (const owner of reflections) {
      const visitor = makeRecursiveVisitor({
        reference(type) {
          const id = type.symbolId;
          if (type.reflection || id === undefined || !ours.has(id.packageName)) return;
          if (project.symbolIdHasBeenRemoved(id)) return; // @internal, deliberately hidden
          const key = id.getStableKey();
          if (warned.has(key)) return;
          warned.add(key);
          app.logger.validationWarning(
            `${type.qualifiedName}, declared in ${id.packageName}/${id.packagePath}, is used by ` +
              `${owner.getFriendlyFullName()} but no entry point exports it: export it (and pin ` +
              `it in index.spec.ts) or use an exported type`,
          );
        },
      });
      for (const type of [owner.type, owner.default, ...(owner.implementedTypes ?? [])]) {
        type?.visit(visitor);
      }
    }
  });
}
