import { createExecutor, type RunManyProgress } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classify } from '../src/index.js';

describe('classify({ onProgress })', () => {
  it('reports after each packed call, ending at the total with the spend', async () => {
    // Every packed call answers ids 1..4 (the ids of one group): each item is answered in its own group.
    const answer = JSON.stringify(Object.fromEntries([1, 2, 3, 4].map((id) => [String(id), { label: 'bug' }])));
    const executor = createExecutor({
      provider: scriptedProvider([{ reply: { text: answer, usage: { inputTokens: 50, cachedInputTokens: 0, outputTokens: 5 } } }]),
      cache: false,
    });
    const seen: RunManyProgress[] = [];
    const result = await classify({
      executor,
      labels: z.enum(['bug', 'billing']),
      items: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
      pack: 4,
      onProgress: (p) => seen.push(p),
    });
    expect(result.items.every((item) => item.ok)).toBe(true);
    // Groups of 4, 4 and 2, reported as each ends (in whatever order): done grows by a group's size each time.
    const dones = seen.map((p) => p.done);
    expect(dones).toHaveLength(3);
    expect(dones.map((done, i) => done - (dones[i - 1] ?? 0)).sort((a, b) => a - b)).toEqual([2, 4, 4]);
    expect(seen.at(-1)).toMatchObject({ done: 10, total: 10, costUsd: result.costUsd });
    await executor.close();
  });
});
