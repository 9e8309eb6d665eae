import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../src/errors.js';
import { rig } from './helpers.js';

/**
 * A budget holds within about one call at any concurrency: each call's cost is estimated
 * and reserved before it is sent, so a burst dispatched on an empty ledger cannot all pass
 * the check of what is spent.
 */
describe('executor budget under a burst', () => {
  it.each([16, 64])('at concurrency %i, spends at most the budget plus one call', async (concurrency) => {
    const reply = { text: 'ok', usage: { inputTokens: 400, outputTokens: 100 } };
    const { executor, emulator } = await rig({ latencyMs: 20, rules: [{ match: 'job ', reply }] }, {}, { concurrency, cache: false });
    // Learn one job's price first, on an executor without a budget.
    await executor.complete({ prompt: 'job price probe' });
    const oneJob = Number(emulator.jobs[0]!.amountUsd);
    const budgeted = await rig({ latencyMs: 20, rules: [{ match: 'job ', reply }] }, {}, { concurrency, cache: false, budgetUsd: 5 * oneJob });
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => budgeted.executor.complete({ prompt: `job ${i}` })));
    const spent = budgeted.executor.metrics().costUsd;
    const billed = budgeted.emulator.jobs.reduce((sum, job) => sum + Number(job.amountUsd), 0);
    expect(spent).toBeCloseTo(billed, 12); // the ledger holds the bill
    expect(spent).toBeLessThanOrEqual(6 * oneJob + 1e-12); // the budget plus at most one call
    expect(budgeted.emulator.stats().jobs).toBeGreaterThanOrEqual(5);
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBe(100 - budgeted.emulator.stats().jobs);
    expect(refused.every((o) => BudgetExceededError.isInstance((o as PromiseRejectedResult).reason))).toBe(true);
  });

  it('holds when answers are far longer than the reserved output (the first call alone, then the largest charge seen)', async () => {
    const reply = { text: 'long', usage: { inputTokens: 50, outputTokens: 3000 } };
    const oneJob = 50 * 0.2e-6 + 3000 * 1.25e-6;
    const { executor, emulator } = await rig(
      { latencyMs: 10, rules: [{ match: 'essay ', reply }] },
      {},
      { concurrency: 64, cache: false, budgetUsd: 5 * oneJob },
    );
    await Promise.allSettled(Array.from({ length: 100 }, (_, i) => executor.complete({ prompt: `essay ${i}` })));
    expect(executor.metrics().costUsd).toBeLessThanOrEqual(6 * oneJob + 1e-12);
    expect(emulator.stats().jobs).toBeLessThanOrEqual(6);
  });

  it('takes a budget too large for an amount as none, without a RangeError', async () => {
    const { executor } = await rig({ rules: [{ match: 'x', reply: 'ok' }] }, {}, { budgetUsd: 1e300 });
    expect((await executor.complete({ prompt: 'x' })).text).toBe('ok');
  });
});
