import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, it } from 'vitest';

describe('published package shape (publint)', () => {
  it.each(['core', 'agents', 'store-sqlite', 'bullmq', 'cli', 'ai-sdk'])('@shoal/%s has no publint errors or warnings', async (name) => {
    const pkgDir = fileURLToPath(new URL(`../packages/${name}`, import.meta.url));
    const { messages } = await publint({ pkgDir, level: 'warning', strict: true, pack: 'npm' });
    const pkg = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8'));
    expect(messages.map((m) => formatMessage(m, pkg))).toEqual([]);
  });
});

describe('what a published package carries', () => {
  it.each(['core', 'agents', 'store-sqlite', 'bullmq', 'cli', 'ai-sdk'])('@shoal/%s ships its LICENSE (the repository one) and is published public', (name) => {
    const pkgDir = fileURLToPath(new URL(`../packages/${name}`, import.meta.url));
    const pkg = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(pkg.publishConfig).toEqual({ access: 'public' });
    const root = readFileSync(fileURLToPath(new URL('../LICENSE', import.meta.url)), 'utf8');
    expect(readFileSync(`${pkgDir}/LICENSE`, 'utf8')).toBe(root);
    expect(root).toMatch(/^MIT License\n/);
  });
});
