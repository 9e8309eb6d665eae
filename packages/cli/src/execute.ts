import type { Executor } from '@shoal/core';
import { EXIT } from './exit-codes.js';
import type { InputItem } from './items.js';
import { OrderedOutput } from './ordered-output.js';
import { BAD_INPUT, type ItemOutcome } from './outcome.js';
import { Progress } from './progress.js';
import { duration } from './report/format.js';
import { runUnits, type WorkUnit } from './run-units.js';
import { openSession, type Session, type SessionOptions } from './session.js';

export interface ExecuteOptions extends SessionOptions {
  /** Where the output lines go: a path, or `-` for standard output. */
  readonly output: string;
  /** Seconds a job is assumed to take, for the dry run's time estimate. */
  readonly jobSeconds: number;
  /** Seconds calls in flight may take to finish after Ctrl-C. */
  readonly shutdownSeconds: number;
  /** Seconds between plain progress lines when standard error is not a terminal. */
  readonly progressSeconds?: number;
}

/** Builds the units once the executor exists; items already known to be bad input (BAD_INPUT, free) are in `known`. */
export type PlanUnits = (
  executor: Executor,
  items: readonly InputItem[],
) => { readonly units: readonly WorkUnit[]; readonly known: ReadonlyMap<number, ItemOutcome> };

const err = process.stderr;
const say = (line: string) => err.write(`${line}\n`);

/**
 * One command's run from start to exit code: the output file (opened first: a bad path
 * costs nothing), the session (provider, executor, store, record), the units through the
 * executor with progress, Ctrl-C (the first starts no new work and lets calls in flight
 * finish for `--shutdown-seconds`; the second writes what is in order and exits; a rerun
 * with the same `--store` resumes), the summary, and the exit code.
 */
export async function execute(items: readonly InputItem[], options: ExecuteOptions, plan: PlanUnits): Promise<number> {
  const output = new OrderedOutput(
    options.dryRun ? undefined : options.output,
    items.map((item) => item.id),
  );
  let session: Session;
  try {
    session = await openSession(options, say);
  } catch (error) {
    output.close();
    throw error;
  }
  const stop = new AbortController();
  let progress: Progress | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      progress?.end();
      output.close();
      say(
        `\n${signal} again: stopped. The output holds every line that was in order; ${
          session.hasStore
            ? 'the store keeps the rest: run the same command again to finish.'
            : 'results not yet written are lost (with --store, a rerun would keep them).'
        }`,
      );
      process.exit(EXIT.interrupted);
    }
    say(`\n${signal}: no new work starts; calls in flight get ${options.shutdownSeconds} s to finish (press Ctrl-C again to stop at once).`);
    stop.abort();
    session.executor
      .shutdown({ deadlineMs: options.shutdownSeconds * 1000 })
      .catch((error: unknown) => say(`shoal: stopping the calls failed: ${(error as Error).message}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = performance.now();
  let failures = 0;
  let result: Awaited<ReturnType<typeof runUnits>> | undefined;
  try {
    const planned = plan(session.executor, items);
    const known = planned.known;
    for (const [index, outcome] of known) output.set(index, outcome);
    failures = known.size;
    progress = new Progress({
      total: items.length,
      executor: session.executor,
      stream: err,
      ...(options.progressSeconds === undefined ? {} : { everySeconds: options.progressSeconds }),
    });
    progress.add(known.size, failures);
    const shown = progress;
    try {
      result = await runUnits(planned.units, {
        window: Math.max(4, options.concurrency * 2),
        output,
        stop: stop.signal,
        onOutcomes: (outcomes) => {
          const bad = outcomes.filter((o) => !o.ok).length;
          failures += bad;
          shown.add(outcomes.length, bad);
        },
      });
    } finally {
      shown.end();
      output.close();
    }
    const wallMs = performance.now() - started;
    if (session.dryRun) printEstimate(session, items.length - known.size, known.size, options);
    else {
      say('');
      for (const line of session.summary(wallMs)) say(line);
      if (known.size > 0) say(`  bad input        ${known.size} lines (code ${BAD_INPUT} in the output, with their line numbers): nothing was spent on them`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
  }
  if (output.failure) say(`shoal: ${output.failure.message}.`);
  if (!result) return EXIT.internal;
  if (result.refusal) {
    say(`shoal: stopped at the first ${result.refusal.code}, which every call would meet: ${result.refusal.message}`);
    return EXIT.usage;
  }
  if (result.stopped === 'interrupted') return EXIT.interrupted;
  if (result.stopped === 'budget') return EXIT.budget;
  return failures > 0 || output.failure ? EXIT.partial : EXIT.ok;
}

function printEstimate(session: Session, toRun: number, bad: number, options: ExecuteOptions): void {
  const m = session.executor.metrics();
  const t = m.totals;
  const calls = m.done + m.failed - m.cached - m.deduplicated;
  const seconds = Math.ceil(calls / Math.max(1, options.concurrency)) * options.jobSeconds;
  say('');
  say('Dry run: nothing was sent, nothing was paid.');
  say(`  items            ${toRun} to run${bad ? `, ${bad} bad input lines (would cost nothing)` : ''}`);
  say(`  model calls      ${calls}${m.cached > 0 ? ` (${m.cached} more answered from --store, free)` : ''}`);
  say(`  input tokens     ${t.inputTokens} (counted with the tokenizer; ${t.cachedInputTokens} of them a cached prompt prefix)`);
  say(
    `  output tokens    ${t.outputTokens} expected (${options.outputTokens === undefined ? "from each call's output schema; set --output-tokens N per call if answers hold free text" : `${options.outputTokens} per call, as given`})`,
  );
  say(`  cost             $${m.costUsd.toFixed(6)} at ${session.executor.provider.model}'s prices`);
  if (options.budget !== undefined) {
    const share = m.costUsd > 0 ? options.budget / m.costUsd : Number.POSITIVE_INFINITY;
    say(
      share >= 1
        ? `  budget           $${options.budget} covers it`
        : `  budget           $${options.budget} would stop the run after about ${Math.floor(share * 100)}% of its calls (exit code 3; a rerun with --store would go on)`,
    );
  }
  say(
    `  time             about ${duration(seconds * 1000)} at concurrency ${options.concurrency}, if a job takes ~${options.jobSeconds} s (--job-seconds; rank's rounds wait on each other, and rate limits add to it)`,
  );
  if (m.failed > 0) say(`  note             ${m.failed} calls would fail before any spend`);
}
