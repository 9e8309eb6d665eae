import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type EmulatorJob, startShortApiEmulator } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';

/**
 * The soak of issue 6: 20,000 calls through one executor against an emulator that
 * answers 429s and 5xx, drops sockets on creates and on queries, sends garbled JSON,
 * takes its time, fails jobs and sometimes never finishes one. The executor runs in a
 * child process (see soak/soak-child.mjs) so that its memory is measured alone; the
 * emulator runs here, and its records are the ground truth for what the client did.
 */

const CALLS = 20_000;
/** Memory is sampled after these many calls, with nothing in flight (the first one is the warm-up). */
const SAMPLES = [2_500, 5_000, 10_000, 15_000, 20_000];
const CHILD = fileURLToPath(new URL('./soak/soak-child.mjs', import.meta.url));
/** The whole soak, emulator and child, is stopped after this long whatever happens. */
const HARD_LIMIT_MS = 150_000;

interface Outcome {
  readonly ok: boolean;
  readonly jobId?: string;
  readonly code?: string;
  readonly callId?: string;
}

interface Sample {
  readonly at: string;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** Slow answers: most jobs take up to 5 ms, one in six between 5 and 30 ms. */
const latency = (random: () => number) => (random() < 1 / 6 ? 5 + 25 * random() : 5 * random());

describe('soak: 20,000 calls through one executor under every fault', () => {
  // Once without a store (the hot path) and once with the SQLite store (its cache, journal
  // and group commits under the same load).
  it.each([
    { label: 'without a store', store: false },
    { label: 'with a SQLite store', store: true },
  ])(
    '$label: ends every call in its result or a typed error, creates no job twice, keeps memory flat and leaves nothing open',
    async ({ store }) => {
      const storeDir = store ? mkdtempSync(join(tmpdir(), 'shoal-soak-')) : undefined;
      const emulator = await startShortApiEmulator({
        seed: 6,
        latencyMs: latency,
        rules: [{ match: 'call #', reply: (prompt) => `echo:${prompt}` }],
        faults: {
          rateLimit: 0.05,
          retryAfterSeconds: 0,
          serverError: 0.03,
          dropCreate: 0.005,
          queryServerError: 0.02,
          dropQuery: 0.01,
          invalidJson: 0.01,
          failJob: 0.02,
          neverFinish: 0.002,
        },
      });
      const outcomes = new Array<Outcome | undefined>(CALLS);
      const samples: Sample[] = [];
      const problems: string[] = [];
      let metrics: Record<string, unknown> | undefined;
      let handles: string[] | undefined;
      const started = performance.now();
      let exit: { code: number | null; signal: NodeJS.Signals | null };
      try {
        const child = spawn(
          process.execPath,
          [
            '--expose-gc',
            CHILD,
            JSON.stringify({
              url: emulator.url,
              apiKey: emulator.apiKey,
              calls: CALLS,
              window: 256,
              concurrency: 64,
              timeoutMs: 5_000,
              samples: SAMPLES,
              ...(storeDir ? { store: join(storeDir, 'soak.db') } : {}),
            }),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const killer = setTimeout(() => child.kill('SIGKILL'), HARD_LIMIT_MS);
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const lines = createInterface({ input: child.stdout });
        lines.on('line', (line) => {
          const [kind, ...rest] = line.split(' ');
          if (kind === 'ok') outcomes[Number(rest[0])] = { ok: true, jobId: rest[1]! };
          else if (kind === 'error') outcomes[Number(rest[0])] = { ok: false, code: rest[1]!, callId: rest[2]! };
          else if (kind === 'sample') samples.push({ at: rest[0]!, rss: Number(rest[1]), heapUsed: Number(rest[2]), external: Number(rest[3]) });
          else if (kind === 'metrics') metrics = JSON.parse(rest.join(' '));
          else if (kind === 'handles') handles = JSON.parse(rest.join(' '));
          else problems.push(line);
        });
        exit = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
        clearTimeout(killer);
        if (stderr) problems.push(`stderr: ${stderr}`);
      } finally {
        await emulator.close();
        if (storeDir) rmSync(storeDir, { recursive: true, force: true });
      }
      const durationMs = performance.now() - started;
      const stats = emulator.stats();

      // The figures, for the test output and the report.
      const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
      console.log(
        [
          `soak (${store ? 'SQLite store' : 'no store'}): ${CALLS} calls in ${(durationMs / 1000).toFixed(1)} s; creates ${stats.creates}, jobs ${stats.jobs}, queries ${stats.queries}, duplicate creates ${stats.duplicateCreates}`,
          `faults injected: ${JSON.stringify(stats.faults)}`,
          `outcomes: ${JSON.stringify(countCodes(outcomes))}`,
          `executor: ${JSON.stringify(metrics)}`,
          'calls    rss MB   heapUsed MB   external MB',
          ...samples.map((s) => `${s.at.padStart(6)}  ${mb(s.rss).padStart(7)}  ${mb(s.heapUsed).padStart(12)}  ${mb(s.external).padStart(12)}`),
          `open at close: ${JSON.stringify(handles)}`,
        ].join('\n'),
      );

      // The child ended by itself, cleanly, having said all it had to say.
      expect(problems).toEqual([]);
      expect(exit).toEqual({ code: 0, signal: null });

      // Every call ended, in its own result or a typed error (the child checked text and type).
      expect(outcomes.filter((o) => o === undefined)).toHaveLength(0);
      const done = outcomes as Outcome[];
      expect(metrics).toMatchObject({ done: done.filter((o) => o.ok).length, failed: done.filter((o) => !o.ok).length, queued: 0, running: 0 });

      // No job was created twice.
      expect(stats.duplicateCreates).toBe(0);
      const jobsByCall = new Map<string, EmulatorJob[]>();
      for (const job of emulator.jobs) {
        const call = job.idempotencyKey!.split('.')[0]!;
        jobsByCall.set(call, [...(jobsByCall.get(call) ?? []), job]);
      }
      expect(jobsByCall.size).toBeLessThanOrEqual(CALLS);
      // A call made a new job only after the one before had failed.
      for (const jobs of jobsByCall.values()) expect(jobs.slice(0, -1).every((j) => j.status === 3)).toBe(true);
      // A result came from its call's own last job, which succeeded; no two results share a job.
      const resultJobs = new Set<string>();
      done.forEach((o, i) => {
        if (!o.ok) return;
        const job = emulator.job(o.jobId!)!;
        expect(job).toMatchObject({ prompt: `call #${i}`, status: 2 });
        expect(jobsByCall.get(job.idempotencyKey!.split('.')[0]!)!.at(-1)).toBe(job);
        resultJobs.add(o.jobId!);
      });
      expect(resultJobs.size).toBe(done.filter((o) => o.ok).length);
      // A create whose answer was lost ended its call as ambiguous: never re-created (the
      // executor's default); each such call's last job is the one whose answer was dropped.
      const ambiguous = done.filter((o) => o.code === 'CREATE_AMBIGUOUS');
      for (const o of ambiguous) expect(jobsByCall.get(o.callId!)!.at(-1)!.answered).toBe(false);
      expect(ambiguous.length).toBeGreaterThan(0);
      expect(ambiguous.length).toBeLessThanOrEqual(emulator.jobs.filter((j) => !j.answered).length);

      // Money: every job whose create was answered is in the ledger, to the pico-dollar. (A
      // call that timed out while its create was on the wire would not book that job's
      // charge: the only allowed gap, bounded by the jobs of calls that timed out.)
      const pico = (usd: string | number) => Math.round(Number(usd) * 1e12);
      const billed = emulator.jobs.filter((j) => j.answered).reduce((sum, j) => sum + pico(j.amountUsd), 0);
      const timedOut = new Set(done.filter((o) => o.code === 'TIMEOUT').map((o) => o.callId));
      const timedOutBilled = [...timedOut].flatMap((call) => jobsByCall.get(call!) ?? []).reduce((sum, j) => sum + pico(j.amountUsd), 0);
      const booked = pico(metrics!.costUsd as number);
      expect(booked).toBeLessThanOrEqual(billed);
      expect(booked).toBeGreaterThanOrEqual(billed - timedOutBilled);

      // Every fault kind really happened.
      for (const kind of ['rateLimit', 'serverError', 'dropCreate', 'queryServerError', 'dropQuery', 'invalidJson', 'failJob', 'neverFinish']) {
        expect(stats.faults[kind] ?? 0, kind).toBeGreaterThan(0);
      }

      // Memory: after warm-up (5k calls) the live heap stays flat. Each sample is taken after
      // full GCs with nothing in flight, so samples differ only by what stayed behind. 1 MiB
      // over 15,000 calls is 70 bytes a call: less than keeping any object per call, and
      // above the noise of such samples (up to 0.4 MiB apart over a 60,000-call run, with no
      // trend). RSS, which the allocator returns to the system when it likes, gets a loose bound.
      const at = (label: string) => samples.find((s) => s.at === label)!;
      expect(samples.map((s) => s.at)).toEqual([...SAMPLES.map(String), 'closed']);
      for (const later of ['10000', '15000', '20000']) {
        expect(at(later).heapUsed, `heap at ${later}`).toBeLessThan(at('5000').heapUsed + 2 ** 20);
        expect(at(later).rss, `rss at ${later}`).toBeLessThan(at('5000').rss * 1.5);
      }

      // Nothing left open at close but the child's own stdio pipes.
      expect(handles!.filter((h) => h !== 'PipeWrap' && h !== 'TTYWrap')).toEqual([]);
    },
    HARD_LIMIT_MS + 30_000,
  );
});

function countCodes(outcomes: readonly (Outcome | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o === undefined ? 'missing' : o.ok ? 'ok' : o.code!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
