// A typedoc plugin (typedoc.config.mjs loads it): the `notExported` check for every package of the site. typedoc's own
// check skips any type whose package is not the project's, and the project's package is the workspace root
// (`shoal-workspace`), so it would check nothing here. This one reports a type of a `@shoal/*` package that the API
// uses (in a type, a parameter, a type argument, an `implements`) but that no public entry point exports: the site
// would show its name with no page to go to. Inherited members are left out, as typedoc leaves them.
//
// Its option `notExportedOnPurpose` lists the exceptions, each as `<file suffix>:<name>`; one that no longer matches
// anything is reported too, so the list cannot go stale.
import { Application, ParameterType } from 'typedoc';
import { makeRecursiveVisitor } from 'typedoc/models';
import { apiEntryPoints } from './api-entry-points.mjs';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.options.addDeclaration({
    name: 'notExportedOnPurpose',
    help: 'Types of the @shoal packages the API may use without exporting them, as "<file suffix>:<name>"',
    type: ParameterType.Array,
    defaultValue: [],
  });
  const packages = new Set(apiEntryPoints().map((entry) => entry.packageName));
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    if (!app.options.getValue('validation').notExported) return;
    const exceptions = app.options.getValue('notExportedOnPurpose').map((entry) => {
      const colon = entry.lastIndexOf(':');
      return { entry, file: entry.slice(0, colon), name: entry.slice(colon + 1), used: false };
    });
    const seen = new Set();
    let owner;
    const visitor = makeRecursiveVisitor({
      reference(type) {
        if (type.reflection || type.externalUrl || type.isIntentionallyBroken() || !type.symbolId || !packages.has(type.package)) return;
        const where = `${type.symbolId.packageName}/${type.symbolId.packagePath}`;
        const exception = exceptions.find((e) => e.name === type.qualifiedName && where.endsWith(e.file));
        if (exception) {
          exception.used = true;
          return;
        }
        const key = type.symbolId.getStableKey();
        if (seen.has(key)) return;
        seen.add(key);
        app.logger.validationWarning(
          `${type.qualifiedName}, defined in ${where}, is used by ${owner.getFriendlyFullName()} but no public entry point exports it`,
        );
      },
    });
    for (const reflection of Object.values(project.reflections)) {
      if (reflection.inheritedFrom) continue;
      owner = reflection;
      reflection.type?.visit(visitor);
      reflection.default?.visit(visitor);
      for (const implemented of reflection.implementedTypes ?? []) implemented.visit(visitor);
    }
    for (const { entry } of exceptions.filter((e) => !e.used)) {
      app.logger.validationWarning(`notExportedOnPurpose lists ${entry}, which the API no longer uses unexported: take it off the list`);
    }
  });
}
