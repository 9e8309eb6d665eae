import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What the API site (`pnpm docs:api`, typedoc.config.mjs) relies on in the sources and docs, checked without building it.
const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

/** Every `exports` subpath of the published packages, with the source file its `dist/*.js` is built from. */
function entries() {
  const found: { specifier: string; source: string }[] = [];
  for (const dir of readdirSync(`${root}packages`)) {
    const pkg = JSON.parse(read(`packages/${dir}/package.json`)) as { name: string; exports: Record<string, string | { default?: string }> };
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const built = typeof target === 'string' ? target : target.default;
      const match = built?.match(/^\.\/dist\/(.+)\.js$/);
      if (match) found.push({ specifier: `${pkg.name}${subpath.slice(1)}`, source: `packages/${dir}/src/${match[1]}.ts` });
    }
  }
  return found;
}

/** The name a file's leading doc comment gives its module (`@module <name>`), if it has one. */
function moduleTag(source: string): string | undefined {
  const leading = read(source).match(/^\/\*\*[\s\S]*?\*\//)?.[0];
  return leading?.match(/@module\s+(\S+)/)?.[1];
}

describe('the API site (pnpm docs:api)', () => {
  it('finds every public entry point named after its package.json specifier, and core/internal not at all', () => {
    const all = entries();
    expect(all.map((e) => e.specifier)).toContain('@shoal/core/internal');
    for (const { specifier, source } of all) {
      expect(moduleTag(source), `${source}: its first doc comment names the module (\`@module ${specifier}\`)`).toBe(
        specifier === '@shoal/core/internal' ? undefined : specifier,
      );
    }
  });

  it('has an index of the decisions that links every one of them', () => {
    const index = read('docs/decisions/README.md');
    const linked = [...index.matchAll(/\]\(([^)#]+\.md)\)/g)].map((m) => m[1]);
    const notes = readdirSync(`${root}docs/decisions`).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(linked.sort()).toEqual(notes.sort());
  });
});
