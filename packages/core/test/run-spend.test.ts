import { describe, expect, it } from 'vitest';
import { RunSpend } from '../src/agent/run-spend.js';
import { BudgetExceededError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

const usage = { inputTokens: 4, cachedInputTokens: 0, outputTokens: 2 };
/** An executor with prices: nothing is refused up front. */
const executor = createExecutor({ provider: scriptedProvider([{ reply: 'ok' }]) });

describe("RunSpend: an agent run's spend and budget", () => {
  it('books each model call as one call (whatever its executor attempts) and keeps the job ids', () => {
    const spend = new RunSpend(undefined, executor, 'a', 'run');
    spend.add({ usage, costUsd: 0.1, jobId: 'j1' });
    spend.add({ usage, costUsd: 0.2, jobId: undefined }); // a cached answer: no job
    expect(spend.tally.calls).toBe(2);
    expect(spend.tally.costUsd).toBe(0.3);
    expect(spend.jobIds).toEqual(['j1']);
    expect(() => spend.check()).not.toThrow(); // no budget: never spent
  });

  it('lets calls go until the spend reaches the budget, then throws what was spent', () => {
    const spend = new RunSpend(0.3, executor, 'a', 'run');
    spend.check();
    spend.add({ usage, costUsd: 0.1, jobId: 'j1' });
    spend.check();
    spend.add({ usage, costUsd: 0.2, jobId: 'j2' }); // exactly 0.3
    let caught: unknown;
    try {
      spend.check();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BudgetExceededError);
    expect(caught).toMatchObject({ budgetUsd: 0.3, spentUsd: 0.3 });
  });

  it('stops a run with a budget at a result of unknown price (an executor whose calls are priced elsewhere)', () => {
    const spend = new RunSpend(1, executor, 'a', 'run');
    expect(() => spend.add({ usage, costUsd: 0, jobId: 'j1', unpriced: true, model: 'llama3' })).toThrow(
      /^a\.run\(\{ budgetUsd \}\) needs the model's prices, and "llama3" has none known/,
    );
    // Without a budget, an unpriced result is booked like any other.
    const free = new RunSpend(undefined, executor, 'a', 'run');
    free.add({ usage, costUsd: 0, jobId: 'j1', unpriced: true, model: 'llama3' });
    expect(free.tally.calls).toBe(1);
  });
});
