import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../packages/core/src/token-estimate.js';
import { loadTokenizer } from '../packages/core/src/tokens.js';

/**
 * gpt-tokenizer is an optional peer of @shoal/core and @shoal/agents. Without it (a resolve hook
 * refuses it as Node does a package that is not installed), the built packages must load, count
 * with the estimate, and say so: a process warning on stderr, once, and `metrics().tokenizer`.
 * The same script with the tokenizer is the control.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const PROMPT = 'Classify this support ticket: the app crashes when I upload a PNG larger than 10 MB on Android 14.';
const DOCUMENT = 'The invoice INV-2041 was issued on 3 March 2026 by Globex Corporation.\n'.repeat(60);

const script = `
  const warnings = [];
  process.on('warning', (w) => warnings.push(w.code ?? w.name));
  // Every entry loads without the tokenizer: nothing imports it before a count is needed.
  const { createExecutor, formatSummary, shortApi } = await import('@shoal/core');
  const { startShortApiEmulator } = await import('@shoal/core/testing');
  await import('@shoal/core/internal');
  const { extract } = await import('@shoal/agents');
  const { z } = await import('zod');
  const prompt = ${JSON.stringify(PROMPT)};
  // Counted by the executor: a budget and a tokens-per-minute limit, and an answer that comes without usage.
  const noUsage = { specificationVersion: 'shoal.provider.v1', name: 'no-usage', model: 'm', pricing: { inputPerMillionUsd: 0.2, outputPerMillionUsd: 1.25 }, doComplete: async () => ({ text: 'bug', requests: 1 }) };
  const counting = createExecutor({ provider: noUsage, budgetUsd: 1, rateLimit: { tokensPerMinute: 100000 } });
  await counting.complete({ prompt });
  const metrics = counting.metrics();
  // Counted by the emulator (the usage it reports), and by the agents' chunking.
  const emulator = await startShortApiEmulator();
  const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url }) });
  const emulated = await executor.complete({ prompt });
  const extracted = await extract({ schema: z.object({ invoice: z.string() }), documents: [${JSON.stringify(DOCUMENT)}], executor, chunkTokens: 200, overlapTokens: 0 });
  await executor.close();
  await emulator.close();
  await counting.close();
  console.log(JSON.stringify({
    tokenizer: metrics.tokenizer,
    usage: metrics.totals,
    emulated: emulated.usage.inputTokens,
    chunks: extracted.documents[0].chunks,
    summary: formatSummary(metrics).find((line) => line.includes('tokens')),
    warnings,
  }));
`;

const refuseTokenizer = `export async function resolve(specifier, context, next) {
  if (specifier === 'gpt-tokenizer' || specifier.startsWith('gpt-tokenizer/')) {
    throw Object.assign(new Error("Cannot find package 'gpt-tokenizer' (refused by the test's hook)"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`;

interface Run {
  readonly tokenizer: string;
  readonly usage: { inputTokens: number; outputTokens: number };
  readonly emulated: number;
  readonly chunks: { start: number; end: number; tokens: number }[];
  readonly summary: string;
  readonly warnings: string[];
}

async function run(withoutTokenizer: boolean): Promise<{ result: Run; stderr: string }> {
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(refuseTokenizer)}`)});`;
  const hook = withoutTokenizer ? ['--import', `data:text/javascript,${encodeURIComponent(register)}`] : [];
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [...hook, '--input-type=module', '-e', script], { cwd: root });
  return { result: JSON.parse(stdout.trim().split('\n').at(-1)!) as Run, stderr };
}

describe('gpt-tokenizer is optional (an optional peer of @shoal/core and @shoal/agents)', () => {
  it('without it, counts are estimated on the high side, and the process says so once', async () => {
    const o200k = await loadTokenizer();
    const { result, stderr } = await run(true);
    expect(result.tokenizer).toBe('estimate');
    // The prompt and the answer ('bug') were counted with the estimate, which is above o200k's count.
    expect(result.usage.inputTokens).toBe(estimateTokens(PROMPT));
    expect(result.usage.outputTokens).toBe(estimateTokens('bug'));
    expect(estimateTokens(PROMPT)).toBeGreaterThan(o200k.count(PROMPT));
    expect(result.emulated).toBe(estimateTokens(PROMPT));
    expect(result.chunks.length).toBeGreaterThan(1);
    for (const chunk of result.chunks) {
      expect(chunk.tokens).toBeLessThanOrEqual(200);
      expect(chunk.tokens).toBe(estimateTokens(DOCUMENT.slice(chunk.start, chunk.end)));
    }
    expect(result.summary).toContain('gpt-tokenizer is not installed');
    // One warning for the whole process (executor, emulator and agents share the loader), on stderr by default.
    expect(result.warnings).toEqual(['SHOAL_TOKENS_ESTIMATED']);
    expect(stderr).toContain('ShoalWarning: gpt-tokenizer could not be loaded');
    expect(stderr).toContain('install gpt-tokenizer@^4 beside @shoal/core');
  });

  it('with it (the control), counts are o200k and nothing is said', async () => {
    const o200k = await loadTokenizer();
    const { result, stderr } = await run(false);
    expect(result.tokenizer).toBe('o200k');
    expect(result.usage.inputTokens).toBe(o200k.count(PROMPT));
    expect(result.emulated).toBe(o200k.count(PROMPT));
    for (const chunk of result.chunks) expect(chunk.tokens).toBeLessThanOrEqual(200);
    expect(result.summary).not.toContain('gpt-tokenizer');
    expect(result.warnings).toEqual([]);
    expect(stderr).not.toContain('gpt-tokenizer');
  });
});
