import { createExecutor, type ModelProvider, ShoalConfigError, ShoalError } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { listwiseAgent, type RankStrategy, rank, rankingPlan } from '../src/index.js';
import { repairOrder, repairPick } from '../src/rank/repair.js';
import { deal } from '../src/rank/strategies.js';
import { rankingJudge } from '../src/testing/index.js';

/** Items whose text carries their true relevance: "doc <id> rel <r>". */
function corpus(n: number, seed = 7) {
  let s = seed;
  const random = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rel = Array.from({ length: n }, (_, i) => i).sort(() => random() - 0.5); // a permutation: distinct relevances
  return Array.from({ length: n }, (_, i) => ({ id: `d${i}`, text: `doc d${i} rel ${(rel[i]! / n) * 100}`, rel: (rel[i]! / n) * 100 }));
}
const relevanceOf = (passage: string) => Number(/rel ([\d.]+)/.exec(passage)?.[1] ?? 0);
const trueTop = (items: { id: string; rel: number }[], k: number) =>
  [...items]
    .sort((a, b) => b.rel - a.rel)
    .slice(0, k)
    .map((i) => i.id);

const executors: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (executors.length) await executors.pop()!.close();
});
function judged(options: Partial<Parameters<typeof rankingJudge>[0]> = {}) {
  const judge = rankingJudge({ relevance: relevanceOf, ...options });
  const provider = scriptedProvider((request) => judge.reply(request.prompt));
  const executor = createExecutor({ provider, concurrency: 64 });
  executors.push(executor);
  return { judge, provider, executor };
}

const strategies: RankStrategy[] = [{ name: 'tournament' }, { name: 'sliding-window' }, { name: 'setwise' }, { name: 'pointwise' }];

describe('rank(): strategies with a noiseless judge', () => {
  it.each(strategies)('$name returns the exact top-10 of 100, in order, with the planned number of calls', async (strategy) => {
    const items = corpus(100);
    const { executor, provider } = judged();
    const result = await rank({ query: 'q', items, topK: 10, strategy, executor });
    expect(result.ranking.map((r) => r.id)).toEqual(trueTop(items, 10));
    expect(result.ranking.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(result.calls).toBe(provider.calls.length);
    const plan = rankingPlan({ items: 100, topK: 10, strategy });
    if (strategy.name === 'setwise') {
      expect(result.calls).toBeLessThanOrEqual(plan.calls);
      expect(result.rounds).toBeLessThanOrEqual(plan.rounds);
    } else {
      expect({ calls: result.calls, rounds: result.rounds }).toEqual(plan);
    }
    expect(result.repairs).toEqual({ missing: 0, repeated: 0, invented: 0 });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
  });

  it('sliding window 20/10 over 100 takes 9 calls in 9 rounds; the tournament at most 10 calls in at most 4 rounds', () => {
    expect(rankingPlan({ items: 100, topK: 10, strategy: { name: 'sliding-window', window: 20, step: 10 } })).toEqual({ calls: 9, rounds: 9 });
    const tour = rankingPlan({ items: 100, topK: 10, strategy: 'tournament' });
    expect(tour.calls).toBeLessThanOrEqual(10);
    expect(tour.rounds).toBeLessThanOrEqual(4);
    expect(rankingPlan({ items: 100, topK: 10, strategy: 'pointwise' })).toEqual({ calls: 10, rounds: 1 });
  });

  it('a topK beyond one pass of the sliding window takes more passes and stays exact', async () => {
    const items = corpus(60);
    const { executor } = judged();
    const result = await rank({ query: 'q', items, topK: 25, strategy: { name: 'sliding-window', window: 20, step: 10 }, executor });
    expect(result.ranking.map((r) => r.id)).toEqual(trueTop(items, 25));
    expect(result.calls).toBe(rankingPlan({ items: 60, topK: 25, strategy: { name: 'sliding-window', window: 20, step: 10 } }).calls);
  });

  it('10,000 items to a top-10 by tournament: exact, no prompt holds more than one window, calls as the formula says', async () => {
    const items = corpus(10_000, 3);
    const { executor, provider } = judged();
    const result = await rank({ query: 'q', items, topK: 10, strategy: { name: 'tournament', window: 20 }, executor });
    expect(result.ranking.map((r) => r.id)).toEqual(trueTop(items, 10));
    expect(result.calls).toBe(999);
    expect(rankingPlan({ items: 10_000, topK: 10, strategy: 'tournament' })).toEqual({ calls: 999, rounds: 10 });
    expect(result.rounds).toBe(10);
    const largest = Math.max(...provider.calls.map((c) => (c.prompt.match(/^\[\d+\] /gm) ?? []).length));
    expect(largest).toBe(20);
  }, 60_000);
});

describe('rank(): what small models do to ids', () => {
  it.each(strategies.filter((s) => s.name !== 'pointwise'))('$name never loses or duplicates an item when every answer has an id fault', async (strategy) => {
    const items = corpus(100);
    const { executor, judge } = judged({ idFaults: 1 });
    const result = await rank({ query: 'q', items, topK: 10, strategy, executor });
    const ids = result.ranking.map((r) => r.id);
    expect(new Set(ids).size).toBe(10);
    for (const id of ids) expect(items.some((i) => i.id === id)).toBe(true);
    expect(judge.answered.faults).toBeGreaterThan(0);
    const repaired = result.repairs.missing + result.repairs.repeated + result.repairs.invented;
    expect(repaired).toBeGreaterThan(0);
  });

  it('repairOrder keeps first mentions, drops repeats and inventions, appends the left-out in shown order', () => {
    expect(repairOrder([3, '1', 3, 9, '[2]'], 5)).toEqual({ order: [2, 0, 1, 3, 4], repairs: { missing: 2, repeated: 1, invented: 1 } });
    expect(repairOrder(['x', 2.5, null], 2)).toEqual({ order: [0, 1], repairs: { missing: 2, repeated: 0, invented: 3 } });
    expect(repairPick(7, 4)).toEqual({ index: 0, repairs: { missing: 0, repeated: 0, invented: 1 } });
    expect(repairPick('2', 4).index).toBe(1);
  });

  it('an answer that cannot be read even after the re-ask keeps its window in the order it came', async () => {
    const provider = scriptedProvider([{ reply: 'I cannot rank these.' }]);
    const executor = createExecutor({ provider });
    executors.push(executor);
    const items = corpus(8);
    const result = await rank({ query: 'q', items, topK: 3, strategy: 'tournament', executor });
    expect(result.ranking.map((r) => r.id)).toEqual(['d0', 'd1', 'd2']);
    expect(result.fallbacks).toBe(1);
    expect(result.calls).toBe(2); // the call and its re-ask
  });
});

describe('rank(): bad input is refused before any call', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'duplicate ids',
      {
        items: [
          { id: 'a', text: 'x' },
          { id: 'a', text: 'y' },
        ],
      },
      /nothing was sent.*Duplicate id "a"/,
    ],
    ['an item without text', { items: [{ id: 'a' }] }, /items\.0\.text/],
    ['topK 0', { topK: 0 }, /topK/],
    ['an empty query', { query: ' ' }, /non-empty query/],
    ['an unknown strategy', { strategy: 'bogosort' }, /strategy/],
    ['a step as large as the window', { strategy: { name: 'sliding-window', window: 10, step: 10 } }, /step \(10\) must be smaller/],
    ['a tournament window no larger than topK', { topK: 20, strategy: { name: 'tournament', window: 20 } }, /larger than topK/],
    ['an unknown option', { windowSize: 3 }, /windowSize/],
    ['no executor', { executor: undefined }, /createExecutor/],
  ];
  it.each(cases)('%s', async (_, patch, message) => {
    const provider = scriptedProvider([{ reply: '{}' }]);
    const executor = createExecutor({ provider });
    executors.push(executor);
    const items = corpus(30);
    const error = await rank({ query: 'q', items, topK: 5, executor, ...patch } as never).catch((e: unknown) => e);
    expect(ShoalError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(provider.calls).toHaveLength(0);
  });

  it('config errors are ShoalConfigError', async () => {
    const error = await rank({ query: 'q', items: [], topK: 0, executor: createExecutor({ provider: scriptedProvider([]) }) }).catch((e: unknown) => e);
    expect(ShoalConfigError.isInstance(error)).toBe(true);
  });
});

describe('rank(): prompts and helpers', () => {
  it('pins the listwise prompt: instructions and schema first, numbered passages last', () => {
    const agent = listwiseAgent();
    expect(agent.promptFor({ query: 'flea life cycle', passages: ['Fleas live  about\n3 months.', 'Cats sleep a lot.'] })).toMatchInlineSnapshot(`
      "You rank passages for a search query by how well each passage answers the search query. The passages are numbered [1] to [n]. Answer with every passage number exactly once, the most relevant first; do not skip, repeat or invent numbers.

      Answer with one JSON value that matches this JSON Schema. Reply with the JSON only, no prose.

      \`\`\`json
      {"type":"object","properties":{"order":{"type":"array","items":{"type":["number","string"]},"description":"Every passage number exactly once, most relevant first."}},"required":["order"],"additionalProperties":false}
      \`\`\`

      # Input

      Query: flea life cycle

      [1] Fleas live about 3 months.
      [2] Cats sleep a lot.

      Rank all 2 passages above, most relevant to the query first."
    `);
  });

  it('deal() fills full windows in turn and leaves one short window last', () => {
    const groups = deal(
      Array.from({ length: 50 }, (_, i) => i),
      20,
    );
    expect(groups.map((g) => g.length)).toEqual([20, 20, 10]);
    expect(groups[0]!.slice(0, 3)).toEqual([0, 3, 6]);
    expect(groups.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('reports progress after every call', async () => {
    const { executor } = judged();
    const seen: number[] = [];
    await rank({ query: 'q', items: corpus(100), strategy: 'tournament', executor, onProgress: (p) => seen.push(p.calls) });
    expect(seen).toHaveLength(9);
    expect(seen.at(-1)).toBe(9);
    expect(seen.every((n, i) => i === 0 || n >= seen[i - 1]!)).toBe(true);
  });
});

describe('rank(): spend, budget and cancellation', () => {
  it('counts the spend of answers that could not be read', async () => {
    const provider = scriptedProvider([{ reply: 'garbage' }]);
    const executor = createExecutor({ provider });
    executors.push(executor);
    const result = await rank({ query: 'q', items: corpus(8), topK: 3, executor });
    expect(result).toMatchObject({ calls: 2, fallbacks: 1 });
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
  });

  it('a budget lets the first call run alone and stops the round before it is passed (BudgetExceededError)', async () => {
    const { executor, provider } = judged();
    const error = await rank({ query: 'q', items: corpus(200), topK: 10, executor, budgetUsd: 1e-9 }).catch((e: unknown) => e);
    expect((error as ShoalError).code).toBe('BUDGET_EXCEEDED');
    expect(provider.calls.length).toBe(1);
  });

  it('when one call fails, the others are cancelled and awaited: nothing runs on after rank() rejects', async () => {
    let calls = 0;
    const inner = scriptedProvider(() => (calls === 1 ? new ShoalError('JOB_FAILED', 'boom', false) : '{"order":[1]}'));
    // Every call but the first holds until `release()` or its cancellation: they are in flight when the first fails.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const provider: ModelProvider = {
      ...inner,
      async doComplete(request, context) {
        calls++;
        if (calls > 1) {
          await new Promise<void>((resolve, reject) => {
            if (context.signal.aborted) return reject(context.signal.reason);
            context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
            void gate.then(resolve);
          });
        }
        return inner.doComplete(request, context);
      },
    };
    const executor = createExecutor({ provider, concurrency: 64, retry: { maxAttempts: 1 } });
    executors.push(executor);
    let progressAfter = 0;
    let settled = false;
    const error = await rank({ query: 'q', items: corpus(200), topK: 10, executor, onProgress: () => settled && progressAfter++ }).catch((e: unknown) => e);
    settled = true;
    expect((error as ShoalError).message).toMatch(/boom/);
    expect(calls).toBeGreaterThan(1); // others were in flight
    expect(executor.metrics().running).toBe(0); // and were cancelled and awaited before rank() rejected
    const seen = calls;
    // A call still in flight would now answer, and a queued one would be sent: drain the executor and look.
    release();
    await executor.close({ drain: true });
    expect(progressAfter).toBe(0);
    expect(calls).toBe(seen);
  });

  it('numbers written as strings ("[5]") are read, not a fallback', async () => {
    const provider = scriptedProvider([{ reply: JSON.stringify({ order: ['[3]', '[1]', '[2]'] }) }]);
    const executor = createExecutor({ provider });
    executors.push(executor);
    const result = await rank({ query: 'q', items: corpus(3), topK: 3, executor });
    expect(result.ranking.map((r) => r.id)).toEqual(['d2', 'd0', 'd1']);
    expect(result.fallbacks).toBe(0);
  });

  it('rankingPlan checks its input like rank()', () => {
    expect(() => rankingPlan({ items: 100, topK: 30, strategy: 'tournament' })).toThrow(/larger than topK/);
    expect(() => rankingPlan({ items: -3 })).toThrow(ShoalConfigError);
    expect(() => rankingPlan({ items: 2.5 })).toThrow(/items/);
    expect(() => rankingPlan({ items: 10, topK: 0 })).toThrow(/topK/);
  });
});
