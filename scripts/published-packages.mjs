// The packages a release publishes: every packages/<folder> with a package.json that is not private, by name. Read by
// `pnpm attw` (scripts/attw.mjs) and by the API site's entry points (scripts/api-entry-points.mjs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `{ folder, dir, pkg }`: the folder's name under packages/, its absolute path, and its parsed package.json. */
export function publishedPackages() {
  return readdirSync(join(root, 'packages'))
    .filter((folder) => existsSync(join(root, 'packages', folder, 'package.json')))
    .map((folder) => ({ folder, dir: join(root, 'packages', folder), pkg: JSON.parse(readFileSync(join(root, 'packages', folder, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private)
    .sort((a, b) => a.pkg.name.localeCompare(b.pkg.name));
}
