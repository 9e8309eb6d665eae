import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutor, type Executor, JobNotFoundError, shortApi } from '@shoal/core';
import { type EmulatorOptions, type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { sqliteStore } from '@shoal/store-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from './helpers/until.js';

/**
 * Jobs re-attached to by id, with a SQLite store: in the same process (calls that timed out,
 * asked again), and in a later run against a server that no longer knows them.
 */
const dir = mkdtempSync(join(tmpdir(), 'shoal-reattach-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const N = 20;
const prompts = Array.from({ length: N }, (_, i) => `task ${i}`);
const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const item of open) await item.close();
});

async function emulatorWith(options: EmulatorOptions): Promise<ShortApiEmulator> {
  const emulator = await startShortApiEmulator(options);
  open.push(emulator);
  return emulator;
}

function executorOn(emulator: ShortApiEmulator, db: string, options: { budgetUsd?: number } = {}): Executor {
  return createExecutor({
    provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
    store: sqliteStore(db),
    concurrency: 32, // all N at once
    random: () => 0,
    ...options,
  });
}

const sum = (amounts: readonly string[]) => amounts.reduce((total, amount) => total + Number(amount), 0);

describe('re-attaching to jobs by id never books them twice', () => {
  it('in one process: 20 callers stop waiting, the same 20 asked again re-attach; ledger, tags and budget show the bill once', async () => {
    // Each job bills 1,000 input and 100 output tokens: $0.000325, so the 20 bill $0.0065. A
    // budget of $0.01 holds them once; booked twice ($0.013), it would refuse the second round.
    const emulator = await emulatorWith({
      latencyMs: Infinity,
      rules: [{ match: 'task ', reply: (p) => ({ text: `done ${p}`, usage: { inputTokens: 1000, outputTokens: 100 } }) }],
    });
    const executor = executorOn(emulator, join(dir, 'same-process.db'), { budgetUsd: 0.01 });
    // The callers leave once every job is created (an abort stands for a timeout here: the same
    // path, but no race between a deadline and a busy machine).
    const leave = new AbortController();
    const pending = Promise.allSettled(prompts.map((prompt) => executor.complete({ prompt }, { tags: ['batch'], signal: leave.signal })));
    await until(() => executor.metrics().jobs === N);
    leave.abort();
    const first = await pending;
    expect(first.every((outcome) => outcome.status === 'rejected' && (outcome.reason as { code: string }).code === 'ABORTED')).toBe(true);
    expect(emulator.stats().jobs).toBe(N);
    for (const job of emulator.jobs) emulator.finish(job.id);
    const second = await Promise.all(prompts.map((prompt) => executor.complete({ prompt }, { tags: ['batch'] })));
    expect(second.map((result) => result.text)).toEqual(prompts.map((p) => `done ${p}`));
    expect(emulator.stats().jobs).toBe(N);
    expect(emulator.stats().creates).toBe(N);
    const bill = sum(emulator.jobs.map((job) => job.amountUsd));
    expect(bill).toBeCloseTo(0.0065, 12);
    const metrics = executor.metrics();
    expect(metrics.recovery.resumed).toBe(N);
    expect(metrics.costUsd).toBeCloseTo(bill, 12);
    expect(metrics.byTag.batch!.costUsd).toBeCloseTo(bill, 12);
    expect(metrics.jobs).toBe(N);
    await executor.close();
  });

  it('in a later run: a journaled job the server does not know (HTTP 200, code 1004) fails typed, and the run after re-creates it', async () => {
    const db = join(dir, 'forgotten.db');
    const first = await emulatorWith({ latencyMs: Infinity, rules: [{ match: 'task ', reply: (p) => `done ${p}` }] });
    const killed = executorOn(first, db);
    const pending = prompts.map((prompt) => executor(killed, prompt));
    // Every job created and journaled, then the run stops (as a signal would stop it).
    await until(() => killed.metrics().jobs === N);
    const report = await killed.shutdown({ deadlineMs: 0 });
    expect(report.abandoned).toBe(N);
    await Promise.allSettled(pending);

    // A server that knows none of them, and says so the way an independent emulator of the API does.
    const forgetful = await emulatorWith({
      latencyMs: 5,
      unknownJob: { status: 200, code: 1004, msg: 'job not found' },
      rules: [{ match: 'task ', reply: (p) => `done ${p}` }],
    });
    const rerun = executorOn(forgetful, db);
    const outcomes = await Promise.allSettled(prompts.map((prompt) => rerun.complete({ prompt })));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason;
      expect(JobNotFoundError.isInstance(error)).toBe(true);
      expect(first.job(error.jobId)).toBeDefined();
    }
    expect(forgetful.stats().creates).toBe(0);
    expect(rerun.metrics().recovery.resumed).toBe(N);
    await rerun.close();

    // Their entries no longer hold the dead job ids: the next run creates each job again, counted as re-created.
    const third = executorOn(forgetful, db);
    const results = await Promise.all(prompts.map((prompt) => third.complete({ prompt })));
    expect(results.map((result) => result.text)).toEqual(prompts.map((p) => `done ${p}`));
    expect(third.metrics().recovery).toMatchObject({ resumed: 0, recreated: N });
    expect(forgetful.stats().creates).toBe(N);
    await third.close();
    // And a fourth run finds everything in the cache: nothing left open.
    const fourth = executorOn(forgetful, db);
    expect((await fourth.complete({ prompt: prompts[0]! })).cached).toBe(true);
    await fourth.close();
  });
});

function executor(run: Executor, prompt: string) {
  return run.complete({ prompt }).catch((error: unknown) => error);
}
