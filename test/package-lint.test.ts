import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, it } from 'vitest';

describe('published package shape (publint)', () => {
  it.each(['core', 'agents', 'store-sqlite', 'bullmq', 'cli'])('@shoal/%s has no publint errors or warnings', async (name) => {
    const pkgDir = fileURLToPath(new URL(`../packages/${name}`, import.meta.url));
    const { messages } = await publint({ pkgDir, level: 'warning', strict: true, pack: 'npm' });
    const pkg = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8'));
    expect(messages.map((m) => formatMessage(m, pkg))).toEqual([]);
  });
});
