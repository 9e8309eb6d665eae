import type { Executor } from '@shoal/core';
import { EXIT } from './exit-codes.js';
import type { InputItem } from './items.js';
import { OrderedOutput } from './ordered-output.js';
import { BAD_INPUT, type ItemOutcome } from './outcome.js';
import { Progress } from './progress.js';
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

/** Builds the units once the executor exists; items whose outcome is already known (bad input) are in `known`. */
export type PlanUnits = (
  executor: Executor,
  items: readonly InputItem[],
) => { readonly units: readonly WorkUnit[]; readonly known: ReadonlyMap<number, ItemOutcome> };

const err = process.stderr;
const say = (line: string) => err.write(`${line}\n`);

/**
 * One command's run from start to exit code: the session (provider, executor, store,
 * record), the units through the executor with progress, Ctrl-C handled (the first stops
 * starting work and lets calls in flight finish for `--shutdown-seconds`; the second exits
 * at once; a rerun with the same `--store` resumes), the summary, and the exit code.
 */
export async function execute(items: readonly InputItem[], options: ExecuteOptions, plan: PlanUnits): Promise<number> {
  const session = await openSession(options, say);
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      say(`\n${signal} again: stopping now. What the store holds stays; run the same command again to finish.`);
      process.exit(EXIT.interrupted);
    }
    say(`\n${signal}: no new work starts; calls in flight get ${options.shutdownSeconds} s to finish (press Ctrl-C again to stop at once).`);
    stop.abort();
    void session.executor.shutdown({ deadlineMs: options.shutdownSeconds * 1000 });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = performance.now();
  let failures = 0;
  let budgetStopped = false;
  try {
    const { units, known } = plan(session.executor, items);
    const output = new OrderedOutput(
      session.dryRun ? undefined : options.output,
      items.map((item) => item.id),
    );
    for (const [index, outcome] of known) output.set(index, outcome);
    failures = [...known.values()].filter((o) => !o.ok).length;
    const progress = new Progress({
      total: items.length,
      executor: session.executor,
      stream: err,
      ...(options.progressSeconds === undefined ? {} : { everySeconds: options.progressSeconds }),
    });
    progress.add(known.size, failures);
    try {
      const result = await runUnits(units, {
        window: Math.max(4, options.concurrency * 2),
        output,
        stop: stop.signal,
        onOutcomes: (outcomes) => {
          const bad = outcomes.filter((o) => !o.ok).length;
          failures += bad;
          progress.add(outcomes.length, bad);
        },
      });
      budgetStopped = result.budgetStopped;
    } finally {
      progress.end();
      output.close();
    }
    const wallMs = performance.now() - started;
    if (session.dryRun) printEstimate(session, items.length - known.size, known, options);
    else {
      say('');
      for (const line of session.summary(wallMs)) say(line);
      const badInput = [...known.values()].filter((o) => !o.ok && o.error.code === BAD_INPUT).length;
      if (badInput > 0) say(`  bad input        ${badInput} lines (code ${BAD_INPUT} in the output, with their line numbers): nothing was spent on them`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
  }
  if (stop.signal.aborted) return EXIT.interrupted;
  if (budgetStopped) return EXIT.budget;
  return failures > 0 ? EXIT.partial : EXIT.ok;
}

function printEstimate(session: Session, toRun: number, known: ReadonlyMap<number, ItemOutcome>, options: ExecuteOptions): void {
  const m = session.executor.metrics();
  const t = m.totals;
  const waves = Math.ceil((m.done + m.failed - m.cached - m.deduplicated) / Math.max(1, options.concurrency));
  const seconds = waves * options.jobSeconds;
  const bad = [...known.values()].filter((o) => !o.ok).length;
  say('');
  say('Dry run: nothing was sent, nothing was paid.');
  say(`  items            ${toRun} to run${bad ? `, ${bad} bad input lines (would cost nothing)` : ''}`);
  say(`  model calls      ${m.done + m.failed - m.cached - m.deduplicated}`);
  say(`  input tokens     ${t.inputTokens} (counted with the tokenizer; ${t.cachedInputTokens} of them a cached prompt prefix)`);
  say(
    `  output tokens    ${t.outputTokens} expected (${options.outputTokens === undefined ? "from each call's output schema; set --output-tokens N per call if answers hold free text" : `${options.outputTokens} per call, as given`})`,
  );
  say(
    `  cost             $${m.costUsd.toFixed(6)} at ${session.executor.provider.model}'s prices${options.budget === undefined ? '' : ` (budget $${options.budget})`}`,
  );
  say(`  time             about ${formatDuration(seconds)} at concurrency ${options.concurrency}, if a job takes ~${options.jobSeconds} s (--job-seconds)`);
  if (m.failed > 0) say(`  note             ${m.failed} calls would fail before any spend (see the output of a real run)`);
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
