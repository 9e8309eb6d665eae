import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import type { RunManyProgress } from '../src/agent/types.js';
import { ShoalConfigError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

const label = defineAgent({
  name: 'label',
  description: 'Labels a ticket.',
  input: z.object({ ticket: z.string() }),
  output: z.object({ label: z.enum(['bug', 'billing']) }),
  instructions: 'LABEL each ticket as bug or billing.',
});
const usage = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 10 };

describe('runMany({ onProgress })', () => {
  it('reports each settled input, one call at a time, ending at the total with the run figures', async () => {
    const executor = createExecutor({ provider: scriptedProvider([{ reply: { text: '{"label":"bug"}', usage } }]), cache: false });
    const seen: RunManyProgress[] = [];
    const inputs = [{ ticket: 'a' }, { ticket: 'b' }, { nope: 1 } as never, { ticket: 'c' }];
    const result = await label.runMany(inputs, { executor, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.done)).toEqual([2, 3, 4]); // the bad input counts as settled from the start
    expect(seen.every((p) => p.total === 4)).toBe(true);
    expect(seen.at(-1)).toEqual({ done: 4, total: 4, calls: result.calls, costUsd: result.costUsd });
    await executor.close();
  });

  it('reports a packed call once for all its answered inputs', async () => {
    const executor = createExecutor({
      provider: scriptedProvider([{ reply: { text: '{"1":{"label":"bug"},"2":{"label":"billing"},"3":{"label":"bug"}}', usage } }]),
      cache: false,
    });
    const seen: number[] = [];
    await label.runMany([{ ticket: 'a' }, { ticket: 'b' }, { ticket: 'c' }], { executor, pack: 3, onProgress: (p) => seen.push(p.done) });
    expect(seen).toEqual([3]);
    await executor.close();
  });

  it('refuses an onProgress that is not a function, before any call', async () => {
    const provider = scriptedProvider([{ reply: '{"label":"bug"}' }]);
    const executor = createExecutor({ provider });
    await expect(label.runMany([{ ticket: 'a' }], { executor, onProgress: 5 as never })).rejects.toThrow(ShoalConfigError);
    expect(provider.calls).toHaveLength(0);
    await executor.close();
  });
});
