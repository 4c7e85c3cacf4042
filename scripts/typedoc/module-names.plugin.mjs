/**
 * A TypeDoc plugin that names each entry point's module by the specifier users import it with
 * (`nest-dpop/testing`), not by its folder (`dpop/src/testing`).
 */
import { Converter, ReflectionKind } from 'typedoc';
import { packageEntryPoints } from './entry-points.mjs';

/** @param {import('typedoc').Application} app */
export function load(app) {
  const names = new Map(packageEntryPoints().map((e) => [e.file, e.specifier]));
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context
      .getSymbolFromReflection(reflection)
      ?.declarations?.[0]?.getSourceFile().fileName;
    const name = file === undefined ? undefined : names.get(file);
    if (name !== undefined) reflection.name = name;
  });
}
