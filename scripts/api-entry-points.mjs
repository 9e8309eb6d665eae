// The public entry points of the published packages, read from each package.json `exports` map: what the API site
// (typedoc.config.mjs) documents and what scripts/check-api-site.mjs expects a page for. `./dist/x.js` is built from
// `./src/x.ts`. `@shoal/core/internal` is plumbing for shoal's sibling packages, outside semver: it stays out of the
// site, but the sources still resolve it (the siblings import it).
import { publishedPackages } from './published-packages.mjs';

/** Subpaths that are not API: private plumbing, and the manifest. */
const PRIVATE = new Set(['./internal', './package.json']);

/** Every `@shoal/*` specifier with the source file it is built from, and whether the API site documents it. */
export function packageEntries() {
  const entries = [];
  for (const { folder: dir, pkg } of publishedPackages()) {
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const built = typeof target === 'string' ? target : target.default;
      const match = built?.match(/^\.\/dist\/(.+)\.js$/);
      if (!match) continue;
      entries.push({
        name: `${pkg.name}${subpath.slice(1)}`,
        packageName: pkg.name,
        source: `packages/${dir}/src/${match[1]}.ts`,
        documented: !PRIVATE.has(subpath),
      });
    }
  }
  return entries;
}

/** The entries the API site documents: one module each. */
export function apiEntryPoints() {
  return packageEntries().filter((entry) => entry.documented);
}
