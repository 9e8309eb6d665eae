import { type CompletionResult, createExecutor, ShoalError, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * 2,000 calls through one executor against an emulator that misbehaves: 429s, 5xx with
 * HTML bodies, sockets dropped mid-answer on queries, failed jobs. Every call must end in
 * its own result or a typed error, no job may be created twice, nothing may be unhandled.
 */
describe('2,000 calls under faults', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));

  it('ends every call in its own result or a typed error, with no duplicate job', async () => {
    const emulator = await startShortApiEmulator({
      latencyMs: { min: 1, max: 15 },
      seed: 2026,
      rules: [{ match: 'call #', reply: (prompt) => `echo:${prompt}` }],
      faults: { rateLimit: 0.06, retryAfterSeconds: 0, serverError: 0.02, queryServerError: 0.02, dropQuery: 0.01, failJob: 0.01, dropCreate: 0.01 },
    });
    const executor = createExecutor({
      provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
      concurrency: 64,
      retry: { maxAttempts: 6, baseDelayMs: 2, maxDelayMs: 50 },
      cache: false,
    });
    try {
      const N = 2000;
      const outcomes = await Promise.allSettled(Array.from({ length: N }, (_, i) => executor.complete({ prompt: `call #${i}` }, { priority: i % 4 })));
      let ok = 0;
      let typedErrors = 0;
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') {
          ok++;
          const result = outcome.value as CompletionResult;
          expect(result.text).toBe(`echo:call #${i}`);
          const job = emulator.job(result.jobId!);
          expect(job?.prompt).toBe(`call #${i}`);
          expect(job?.status).toBe(2);
        } else {
          expect(ShoalError.isInstance(outcome.reason)).toBe(true);
          typedErrors++;
        }
      });
      expect(ok + typedErrors).toBe(N);
      const stats = emulator.stats();
      // The faults really happened, at the rates asked for (the emulator places exactly
      // round(100 x p) faults in every block of 100 requests; the last block may be partial).
      const atLeast = (name: string, share: number, of: number) =>
        expect(stats.faults[name] ?? 0).toBeGreaterThanOrEqual(Math.floor(share * Math.floor(of / 100) * 100));
      atLeast('rateLimit', 0.06, stats.creates);
      atLeast('serverError', 0.02, stats.creates - stats.faults.rateLimit!);
      atLeast('queryServerError', 0.02, stats.queries);
      atLeast('dropQuery', 0.01, stats.queries - stats.faults.queryServerError!);
      atLeast('failJob', 0.01, stats.jobs);
      atLeast('dropCreate', 0.01, stats.jobs);
      expect((stats.faults.rateLimit ?? 0) / stats.creates).toBeGreaterThanOrEqual(0.05);
      // A create whose answer was lost is reported as ambiguous, never silently re-created.
      const ambiguous = outcomes.filter((o) => o.status === 'rejected' && (o.reason as ShoalError).code === 'CREATE_AMBIGUOUS').length;
      expect(ambiguous).toBe(emulator.jobs.filter((j) => !j.answered).length);
      // No job was paid for twice; a new job after a failed one is a retry, not a duplicate.
      expect(stats.duplicateCreates).toBe(0);
      // The same, checked from the jobs themselves: per call, every job but the last one failed.
      const byCall = new Map<string, (typeof emulator.jobs)[number][]>();
      for (const job of emulator.jobs) {
        const call = job.idempotencyKey!.split('.')[0]!;
        byCall.set(call, [...(byCall.get(call) ?? []), job]);
      }
      for (const jobs of byCall.values()) expect(jobs.slice(0, -1).every((j) => j.status === 3)).toBe(true);
      expect(byCall.size).toBeLessThanOrEqual(N);
      expect(byCall.size).toBeGreaterThanOrEqual(ok);
      const m = executor.metrics();
      expect(m.done + m.failed).toBe(N);
      // The ledger holds every job whose create was answered, failed ones included, to the pico-dollar.
      const billed = emulator.jobs.filter((j) => j.answered).reduce((sum, j) => sum + Math.round(Number(j.amountUsd) * 1e12), 0);
      expect(Math.round(m.costUsd * 1e12)).toBe(billed);
      expect(m.queued + m.running).toBe(0);
      expect(unhandled).toEqual([]);
    } finally {
      await executor.close();
      await emulator.close();
    }
  });
});
