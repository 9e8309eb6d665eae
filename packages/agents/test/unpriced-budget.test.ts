import { createExecutor, ShoalConfigError } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classify, extract, rank } from '../src/index.js';

describe('a ready-made agent with a budget on a model of unknown price', () => {
  it('is refused before any call, by rank, classify and extract alike', async () => {
    const provider = scriptedProvider([{ reply: '{}' }], { model: 'local-llama', pricing: 'unknown' });
    const executor = createExecutor({ provider });
    const runs = [
      () => rank({ executor, query: 'q', items: [{ id: 'a', text: 'x' }], budgetUsd: 1 }),
      () => classify({ executor, labels: z.enum(['a', 'b']), items: ['x'], budgetUsd: 1 }),
      () => extract({ executor, schema: z.object({ name: z.string() }), documents: [{ id: 'd', text: 'x' }], budgetUsd: 1 }),
    ];
    for (const [i, run] of runs.entries()) {
      const error = await run().catch((e: unknown) => e);
      expect(ShoalConfigError.isInstance(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        new RegExp(`^${['rank', 'classify', 'extract'][i]}\\(\\{ budgetUsd \\}\\) needs the model's prices, and "local-llama" has none known`),
      );
    }
    expect(provider.calls).toHaveLength(0);
    await executor.close();
  });
});
