import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShortApiEmulator } from '@shoal/core/testing';
import { sqliteStore } from '@shoal/store-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildRun, startRun } from './helpers/child-run.js';

// Graceful shutdown (issue 6): on SIGTERM a run stops dispatching, lets calls in flight
// finish until the deadline, flushes and closes its store, and exits non-zero when work was
// left; the same run started again finishes the rest without paying twice.

const dir = mkdtempSync(join(tmpdir(), 'shoal-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An emulator whose first 8 jobs (the first dispatched at concurrency 8) take 4 s and the
 * rest 20 ms; once those 8 exist, the run in `target.run` gets each signal after its delay.
 */
async function slowFirstEight(signals: readonly (readonly [NodeJS.Signals, number])[]) {
  const target: { run?: ChildRun } = {};
  let creates = 0;
  const emulator = await startShortApiEmulator({
    rules: [
      {
        match: /^item \d+$/,
        reply: (prompt) => {
          creates++;
          if (creates === 8) for (const [signal, delayMs] of signals) setTimeout(() => target.run?.child.kill(signal), delayMs);
          return { text: `answer to ${prompt}`, latencyMs: creates <= 8 ? 4000 : 20 };
        },
      },
    ],
  });
  return { emulator, target };
}

describe('graceful shutdown on SIGTERM (child process)', () => {
  it('lets calls in flight finish, rejects the queued ones, exits 1; a rerun does only what was left', async () => {
    const n = 300;
    const db = join(dir, 'finish.db');
    const emulator = await startShortApiEmulator({ latencyMs: { min: 100, max: 300 }, seed: 3 });
    let first: ChildRun | undefined;
    try {
      const settings = { url: emulator.url, apiKey: emulator.apiKey, db, n, concurrency: 16, deadlineMs: 20_000 };
      first = startRun(settings, (count, run) => {
        if (count === 40) run.child.kill('SIGTERM');
      });
      const end = await first.ended;
      expect(end, first.stderr).toEqual({ code: 1, signal: null });
      const report = first.shutdown as { signal: string; rejectedQueued: number; finished: number; abandoned: number; clean: boolean };
      expect(report).toMatchObject({ signal: 'SIGTERM', abandoned: 0, clean: false });
      expect(report.rejectedQueued).toBeGreaterThan(0);
      expect(first.errors.every((e) => e.code === 'EXECUTOR_CLOSED')).toBe(true);
      expect(first.errors.length).toBe(report.rejectedQueued);
      expect(first.outputs.length + first.errors.length).toBe(n);
      // Calls in flight finished: their results are in the store and the journal is empty.
      const store = sqliteStore(db);
      expect(store.counts()).toEqual({ cached: first.outputs.length, jobs: 0, intents: 0 });
      store.close();
      expect(emulator.stats().creates).toBe(first.outputs.length);

      const second = startRun(settings);
      expect((await second.ended).code, second.stderr).toBe(0);
      expect(second.summary).toMatchObject({ jobs: n - first.outputs.length, cached: first.outputs.length, failed: 0 });
      expect(second.summary!.recovery).toEqual({ resumed: 0, recreated: 0, storeErrors: 0 });
      expect(emulator.stats()).toMatchObject({ creates: n, duplicateCreates: 0 });
      expect(new Set(second.outputs.map((o) => o.i)).size).toBe(n);
    } finally {
      first?.child.kill('SIGKILL');
      await emulator.close();
    }
  }, 60_000);

  it('abandons calls still running at the deadline, keeps their jobs in the journal, and the rerun re-attaches to them', async () => {
    const n = 60;
    const db = join(dir, 'deadline.db');
    // SIGTERM once the 8 slow jobs exist, with a deadline far shorter than they take.
    const { emulator, target } = await slowFirstEight([['SIGTERM', 150]]);
    let first: ChildRun | undefined;
    try {
      const settings = { url: emulator.url, apiKey: emulator.apiKey, db, n, concurrency: 8, deadlineMs: 200 };
      first = target.run = startRun(settings);
      const end = await first.ended;
      expect(end, first.stderr).toEqual({ code: 1, signal: null });
      expect(first.shutdown).toMatchObject({ signal: 'SIGTERM', rejectedQueued: n - 8, finished: 0, abandoned: 8, clean: false });
      expect(first.outputs).toEqual([]);
      const store = sqliteStore(db);
      expect(store.counts()).toEqual({ cached: 0, jobs: 8, intents: 0 });
      store.close();

      const second = startRun(settings);
      expect((await second.ended).code, second.stderr).toBe(0);
      expect(second.summary).toMatchObject({ jobs: n - 8, failed: 0, recovery: { resumed: 8, recreated: 0, storeErrors: 0 } });
      expect(emulator.stats()).toMatchObject({ creates: n, duplicateCreates: 0 });
      for (const out of second.outputs) expect(out.text).toBe(`answer to item ${out.i}`);
      expect(new Set(second.outputs.map((o) => o.i)).size).toBe(n);
    } finally {
      first?.child.kill('SIGKILL');
      await emulator.close();
    }
  }, 60_000);

  it('ends at once on a second signal, and what was journaled is still there for the rerun', async () => {
    const n = 20;
    const db = join(dir, 'twice.db');
    const { emulator, target } = await slowFirstEight([
      ['SIGTERM', 150],
      ['SIGINT', 450],
    ]);
    let first: ChildRun | undefined;
    try {
      const settings = { url: emulator.url, apiKey: emulator.apiKey, db, n, concurrency: 8, deadlineMs: 20_000 };
      first = target.run = startRun(settings);
      expect(await first.ended, first.stderr).toEqual({ code: 130, signal: null });
      expect(first.errors.length).toBe(n - 8); // the queued ones, rejected on the first signal
      expect(first.summary).toBeUndefined();
      const store = sqliteStore(db);
      expect(store.counts()).toEqual({ cached: 0, jobs: 8, intents: 0 });
      store.close();

      const second = startRun(settings);
      expect((await second.ended).code, second.stderr).toBe(0);
      expect(second.summary).toMatchObject({ jobs: n - 8, failed: 0, recovery: { resumed: 8, recreated: 0 } });
      expect(emulator.stats()).toMatchObject({ creates: n, duplicateCreates: 0 });
    } finally {
      first?.child.kill('SIGKILL');
      await emulator.close();
    }
  }, 60_000);
});
