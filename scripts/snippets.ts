// Writes every TypeScript snippet of the READMEs and docs from the file it comes from: `pnpm docs:snippets`. Each lies
// between `<!-- snippet: examples/snippets/x.ts -->` and `<!-- /snippet -->` (a region: `x.ts#name`, between
// `// #region name` and `// #endregion name` in the file, shown after the imports it uses). `--check` writes nothing
// and exits 1 naming each stale snippet, and each TypeScript block outside the markers; test/readme-snippets.test.ts
// runs it in CI. The files are complete programs: the root tsconfig.json compiles them, and the same test runs them.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The markdown files whose TypeScript blocks must all be snippets: the READMEs and the docs (not the decision records). */
export function markdownFiles(root = ROOT): string[] {
  const inFolder = (folder: string, name?: string) =>
    existsSync(join(root, folder))
      ? readdirSync(join(root, folder), { withFileTypes: true }).flatMap((entry) =>
          name
            ? existsSync(join(root, folder, entry.name, name))
              ? [`${folder}/${entry.name}/${name}`]
              : []
            : entry.isFile() && entry.name.endsWith('.md')
              ? [`${folder}/${entry.name}`]
              : [],
        )
      : [];
  return ['README.md', ...inFolder('packages', 'README.md'), ...inFolder('examples/plugins', 'README.md'), ...inFolder('docs')].sort();
}

const MARKER = /<!-- snippet: ([^\s#]+)(?:#([\w-]+))? -->\n([\s\S]*?)<!-- \/snippet -->/g;
const CODE_FENCE = /^```(ts|typescript|tsx|js|javascript|mjs)\s*$/;

/** A snippet's code: the whole file, or one region after the imports it uses. */
export function snippetCode(source: string, file: string, region?: string): string {
  if (!region) return source.trimEnd();
  const lines = source.split('\n');
  const start = lines.findIndex((line) => line.trim() === `// #region ${region}`);
  const end = lines.findIndex((line, i) => i > start && line.trim() === `// #endregion ${region}`);
  if (start === -1 || end === -1) throw new Error(`${file} has no region "${region}": mark it with \`// #region ${region}\` and \`// #endregion ${region}\`.`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((line) => line.trim() !== '').map((line) => line.match(/^ */)![0].length));
  const code = body.map((line) => line.slice(indent)).join('\n');
  const imports = usedImports(source, code);
  return `${imports.length > 0 ? `${imports.join('\n')}\n\n` : ''}${code}`.trimEnd();
}

/** The file's import statements, each cut to the names `code` uses (a region's reader sees where each name comes from). */
function usedImports(source: string, code: string): string[] {
  const uses = (name: string) => new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(code);
  const statements = source.matchAll(/^import\s+(type\s+)?([\s\S]*?)\s+from\s+('[^']+');$/gm);
  return [...statements].flatMap(([, typeOnly = '', clause, from]) => {
    const named = clause!.match(/\{([\s\S]*)\}/)?.[1];
    const before = clause!
      .replace(/\{[\s\S]*\}/, '')
      .replace(/,\s*$/, '')
      .trim();
    const parts: string[] = [];
    if (before && uses(before.replace(/^\*\s+as\s+/, ''))) parts.push(before);
    const names = (named ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(
        (s) =>
          s !== '' &&
          uses(
            s
              .split(/\s+as\s+/)
              .at(-1)!
              .replace(/^type\s+/, ''),
          ),
      );
    if (names.length > 0) parts.push(`{ ${names.join(', ')} }`);
    return parts.length > 0 ? [`import ${typeOnly}${parts.join(', ')} from ${from};`] : [];
  });
}

export interface Rendered {
  readonly text: string;
  /** Each snippet, with whether the markdown held it as its file says. */
  readonly snippets: { readonly file: string; readonly region: string | undefined; readonly current: boolean }[];
  /** TypeScript blocks outside snippet markers, and snippets whose file or region is missing. */
  readonly problems: string[];
}

/** The markdown with every snippet written from its file (`read` gives a file's text, or undefined when there is none). */
export function render(markdown: string, name: string, read: (file: string) => string | undefined): Rendered {
  const snippets: Rendered['snippets'][number][] = [];
  const problems: string[] = [];
  const text = markdown.replace(MARKER, (whole, file: string, region: string | undefined, shown: string) => {
    const source = read(file);
    if (source === undefined) {
      problems.push(`${name}: the snippet file ${file} does not exist`);
      return whole;
    }
    let code: string;
    try {
      code = snippetCode(source, file, region);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return whole;
    }
    const block = `\`\`\`ts\n${code}\n\`\`\`\n`;
    snippets.push({ file, region, current: shown === block });
    return `<!-- snippet: ${file}${region ? `#${region}` : ''} -->\n${block}<!-- /snippet -->`;
  });
  // Every TypeScript block must come from a file: one outside the markers is reported with its line.
  const outside = text.replace(MARKER, (whole) => whole.replace(/[^\n]/g, ' '));
  outside.split('\n').forEach((line, i) => {
    if (CODE_FENCE.test(line))
      problems.push(
        `${name}:${i + 1}: a TypeScript block outside snippet markers: move it to a file under examples/ and mark it <!-- snippet: examples/... -->`,
      );
  });
  return { text, snippets, problems };
}

/** Renders every markdown file; writes them unless `check`. Returns the lines to print and whether all was current. */
export function run(options: { readonly check: boolean; readonly root?: string }): { ok: boolean; lines: string[]; count: number } {
  const root = options.root ?? ROOT;
  const read = (file: string) => (existsSync(join(root, file)) ? readFileSync(join(root, file), 'utf8') : undefined);
  const lines: string[] = [];
  let ok = true;
  let count = 0;
  for (const name of markdownFiles(root)) {
    const before = read(name)!;
    const rendered = render(before, name, read);
    count += rendered.snippets.length;
    lines.push(...rendered.problems);
    if (rendered.problems.length > 0) ok = false;
    const stale = rendered.snippets.filter((s) => !s.current);
    if (stale.length === 0) continue;
    if (options.check) {
      ok = false;
      for (const s of stale)
        lines.push(`${name}: the snippet from ${s.file}${s.region ? `#${s.region}` : ''} differs from its file: run \`pnpm docs:snippets\``);
    } else {
      writeFileSync(join(root, name), rendered.text);
      lines.push(`${name}: ${stale.length} snippet(s) written from ${stale.map((s) => s.file).join(', ')}`);
    }
  }
  lines.push(`${count} snippets in ${markdownFiles(root).length} markdown files${ok ? (options.check ? ': all current' : '') : ''}`);
  return { ok, lines, count };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--root'); // another checkout (the tests use a temporary one)
  const result = run({ check: process.argv.includes('--check'), ...(at > 0 && process.argv[at + 1] ? { root: process.argv[at + 1] } : {}) });
  for (const line of result.lines) (result.ok ? console.log : console.error)(line);
  if (!result.ok) process.exitCode = 1;
}
