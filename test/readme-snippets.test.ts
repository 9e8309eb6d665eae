import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownFiles, ROOT, render, run, snippetCode } from '../scripts/snippets.js';

describe('the README and docs snippets', () => {
  it('are the files they come from, and every TypeScript block is one (run `pnpm docs:snippets` when this fails)', () => {
    const result = run({ check: true });
    expect(result.lines.filter((line) => !/^\d+ snippets in/.test(line))).toEqual([]);
    expect(result.ok).toBe(true);
    // README.md 9, the core, agents, store and ai-sdk READMEs 1 each, docs/writing-a-plugin.md 3, docs/reliability-durability.md 1.
    expect(result.count).toBe(17);
  });

  it('cover every file under examples/snippets, and name only files that exist', () => {
    const named = new Set<string>();
    for (const name of markdownFiles()) {
      const rendered = render(readFileSync(join(ROOT, name), 'utf8'), name, (file) => readFileSync(join(ROOT, file), 'utf8'));
      for (const { file } of rendered.snippets) named.add(file);
    }
    const files = readdirSync(join(ROOT, 'examples/snippets')).map((file) => `examples/snippets/${file}`);
    expect(files.filter((file) => !named.has(file))).toEqual([]);
    expect([...named].filter((file) => !file.startsWith('examples/'))).toEqual([]);
  });
});

describe('pnpm docs:snippets', () => {
  const files: Record<string, string> = {
    'a.ts': "import { a } from 'a';\n\nconsole.log(a);\n",
    'b.ts': [
      "import { type T, used, unused } from 'x';",
      "import other from 'y';",
      '',
      'function f() {',
      '  // #region part',
      '  const t: T = used();',
      '  // #endregion part',
      '  return other(t, unused);',
      '}',
    ].join('\n'),
  };
  const read = (file: string) => files[file];

  it('writes a file into its markers, and reports a stale one by name', () => {
    const stale = '# Title\n\n<!-- snippet: a.ts -->\n```ts\nconsole.log(b);\n```\n<!-- /snippet -->\n\nAfter.\n';
    const rendered = render(stale, 'README.md', read);
    expect(rendered.text).toBe("# Title\n\n<!-- snippet: a.ts -->\n```ts\nimport { a } from 'a';\n\nconsole.log(a);\n```\n<!-- /snippet -->\n\nAfter.\n");
    expect(rendered.snippets).toEqual([{ file: 'a.ts', region: undefined, current: false }]);
    expect(render(rendered.text, 'README.md', read).snippets).toEqual([{ file: 'a.ts', region: undefined, current: true }]);
  });

  it('shows a region after the imports it uses, cut to the names it uses', () => {
    expect(snippetCode(files['b.ts']!, 'b.ts', 'part')).toBe("import { type T, used } from 'x';\n\nconst t: T = used();");
    expect(() => snippetCode(files['b.ts']!, 'b.ts', 'nope')).toThrow(/b\.ts has no region "nope"/);
  });

  it('--check exits 1 naming the stale snippet and writes nothing; without it, the markdown is rewritten', () => {
    const root = mkdtempSync(join(tmpdir(), 'shoal-snippets-'));
    try {
      mkdirSync(join(root, 'examples'));
      writeFileSync(join(root, 'examples/a.ts'), files['a.ts']!);
      const stale = '<!-- snippet: examples/a.ts -->\n```ts\nold();\n```\n<!-- /snippet -->\n';
      writeFileSync(join(root, 'README.md'), stale);
      const script = join(ROOT, 'scripts/snippets.ts');
      const check = spawnSync(process.execPath, ['--import', 'tsx', script, '--check', '--root', root], { encoding: 'utf8' });
      expect(check.status).toBe(1);
      expect(check.stderr).toContain('README.md: the snippet from examples/a.ts differs from its file: run `pnpm docs:snippets`');
      expect(readFileSync(join(root, 'README.md'), 'utf8')).toBe(stale);
      const write = spawnSync(process.execPath, ['--import', 'tsx', script, '--root', root], { encoding: 'utf8' });
      expect(write.status).toBe(0);
      expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain("```ts\nimport { a } from 'a';\n\nconsole.log(a);\n```");
      expect(spawnSync(process.execPath, ['--import', 'tsx', script, '--check', '--root', root], { encoding: 'utf8' }).status).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a TypeScript block outside the markers, and a snippet whose file is missing', () => {
    const text = 'Intro\n\n```ts\nconst x = 1;\n```\n\n<!-- snippet: gone.ts -->\n```ts\n```\n<!-- /snippet -->\n';
    expect(render(text, 'docs/x.md', read).problems).toEqual([
      'docs/x.md: the snippet file gone.ts does not exist',
      'docs/x.md:3: a TypeScript block outside snippet markers: move it to a file under examples/ and mark it <!-- snippet: examples/... -->',
    ]);
  });
});
