// After `typedoc` (`pnpm docs:api`): the API site has its index and exactly one module page per public entry point
// (scripts/api-entry-points.mjs), and none for `@shoal/core/internal`. Exits 1 with what is missing or extra.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { apiEntryPoints } from './api-entry-points.mjs';

const site = 'docs/api-site';
const problems = [];
if (!existsSync(`${site}/index.html`)) problems.push(`${site}/index.html is missing`);
const modules = existsSync(`${site}/modules`) ? readdirSync(`${site}/modules`).filter((file) => file.endsWith('.html')) : [];
const found = new Set();
for (const file of modules) {
  const heading = readFileSync(`${site}/modules/${file}`, 'utf8').match(/<h1>Module ([^<]+)<\/h1>/);
  if (heading) found.add(heading[1]);
  else problems.push(`${site}/modules/${file} has no "Module <name>" heading`);
}
const expected = new Set(apiEntryPoints().map((entry) => entry.name));
for (const name of expected) if (!found.has(name)) problems.push(`no module page for ${name}`);
for (const name of found) if (!expected.has(name)) problems.push(`a module page for ${name}, which is not a public entry point`);
if (problems.length > 0) {
  console.error(`The API site (${site}) is not complete:\n  ${problems.join('\n  ')}`);
  console.error('Each public entry file names its module with a `@module <specifier>` doc comment at its top.');
  process.exit(1);
}
console.log(`API site: ${site}/index.html and ${found.size} module pages (${[...found].sort().join(', ')})`);
