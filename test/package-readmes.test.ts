import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The registry shows a package's README without its repository (no `repository` field is set),
 * so a relative link that leaves the package (`../../docs/x.md`) is broken there. Every link of
 * every published package's README must be an absolute http(s) URL, a file the package ships
 * (its `files`, plus what npm always ships), or an anchor of a heading in the same README.
 */
const root = fileURLToPath(new URL('..', import.meta.url));

interface Link {
  readonly target: string;
  readonly line: number;
}

/** The links a markdown renderer makes: inline links and images, reference definitions, autolinks, HTML href/src; not those in code. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  for (const [i, raw] of markdown.split('\n').entries()) {
    if (/^\s*(```|~~~)/.test(raw)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const line = raw.replace(/`[^`]*`/g, ''); // inline code is not a link
    const add = (target: string | undefined) => target !== undefined && links.push({ target, line: i + 1 });
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) add(m[1]);
    for (const m of line.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)) add(m[1]);
    for (const m of line.matchAll(/<((?:https?|ftp|mailto):[^>\s]+)>/g)) add(m[1]);
    for (const m of line.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)) add(m[1]);
  }
  return links;
}

/** A heading's anchor as the registry and GitHub make it: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && line.match(/^#{1,6}\s+(.+?)\s*#*\s*$/);
    if (heading) anchors.add(slug(heading[1]!));
  }
  return anchors;
}

/** Why a link would be broken on the registry's page, or undefined when it is fine. */
function brokenOnRegistry(target: string, pkgDir: string, files: readonly string[], anchors: ReadonlySet<string>): string | undefined {
  if (/^https?:\/\//i.test(target)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return 'a link that is neither http(s) nor a file of the package';
  if (target.startsWith('#')) return anchors.has(decodeURIComponent(target.slice(1))) ? undefined : 'an anchor of no heading in this README';
  const path = normalize(decodeURIComponent(target.split('#')[0]!.split('?')[0]!));
  if (path.startsWith('..') || path.startsWith('/')) return 'outside the package: the registry has no repository to resolve it in';
  const shipped = ['package.json', 'README.md', 'LICENSE', ...files].some((f) => path === normalize(f) || path.startsWith(`${normalize(f)}/`));
  if (!shipped) return 'a file the package does not ship (not in its `files`)';
  return existsSync(join(pkgDir, path)) ? undefined : 'a file that does not exist';
}

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; private?: boolean; files?: string[] } }))
  .filter(({ pkg }) => !pkg.private);

describe('package READMEs as the registry shows them', () => {
  it.each(packages.map((p) => [p.pkg.name, p] as const))('%s has a README whose every link works without the repository', (_, { dir, pkg }) => {
    const readme = join(dir, 'README.md');
    expect(existsSync(readme), `${pkg.name} has no README.md: its registry page would be empty; write one (links absolute or to shipped files)`).toBe(true);
    const markdown = readFileSync(readme, 'utf8');
    const anchors = anchorsOf(markdown);
    const broken = linksOf(markdown).flatMap(({ target, line }) => {
      const why = brokenOnRegistry(target, dir, pkg.files ?? [], anchors);
      return why ? [`README.md:${line} ${target}: ${why}`] : [];
    });
    expect(broken, `make each link absolute (https://...), point it at a file in \`files\`, or name the doc in plain text`).toEqual([]);
  });

  it('finds links where a renderer makes them, and judges them as the registry would', () => {
    const sample = [
      'See the [guide](../../docs/guide.md), [the API](#api) and [npm](https://www.npmjs.com/package/zod).',
      '![logo](dist/logo.png) <https://example.com/x> <a href="./CHANGELOG.md">log</a>',
      '[ref]: ../core/README.md',
      'Not a link: `[x](../y.md)`',
      '```md',
      '[in a fence](../z.md)',
      '```',
      '## API',
    ].join('\n');
    const links = linksOf(sample).map((l) => l.target);
    expect(links).toEqual([
      '../../docs/guide.md',
      '#api',
      'https://www.npmjs.com/package/zod',
      'dist/logo.png',
      'https://example.com/x',
      './CHANGELOG.md',
      '../core/README.md',
    ]);
    const dir = join(root, 'packages/core');
    const judged = links.map((t) => brokenOnRegistry(t, dir, ['dist'], anchorsOf(sample)));
    expect(judged).toEqual([
      'outside the package: the registry has no repository to resolve it in',
      undefined,
      undefined,
      'a file that does not exist',
      undefined,
      'a file the package does not ship (not in its `files`)',
      'outside the package: the registry has no repository to resolve it in',
    ]);
    expect(brokenOnRegistry('README.md', dir, ['dist'], new Set())).toBeUndefined();
    expect(brokenOnRegistry('#nowhere', dir, ['dist'], new Set(['api']))).toBe('an anchor of no heading in this README');
  });
});
