import type { OrderedOutput } from './ordered-output.js';
import { failed, INTERRUPTED, type ItemOutcome } from './outcome.js';

/** A piece of work: one agent call (or one packed call) answering some of the input items. */
export interface WorkUnit {
  /** Indexes of the items it answers, in the input. */
  readonly indexes: readonly number[];
  /** One outcome per index, in the same order. Rejects only for an error of the whole unit. */
  run(): Promise<readonly ItemOutcome[]>;
}

export interface RunUnitsOptions {
  /** Units in progress at once: enough to keep the executor's slots full, few enough to bound the calls waiting. */
  readonly window: number;
  readonly output: OrderedOutput;
  /** Aborted on Ctrl-C: no unit starts after it. */
  readonly stop: AbortSignal;
  /** Called after each unit with its outcomes (progress). */
  readonly onOutcomes: (outcomes: readonly ItemOutcome[]) => void;
}

/** Why the run stopped starting units before the end, if it did. */
export type Stopped = 'budget' | 'refused' | 'interrupted' | undefined;

/** The error of the first refusal every later call would meet too. */
type Refusal = Extract<ItemOutcome, { ok: false }>['error'];

/** Errors that every later call would meet too: the run stops at the first rather than fail each item alike. */
const EVERY_CALL_WOULD_FAIL = new Set(['AUTH_FAILED', 'CONFIG_INVALID']);

/**
 * Runs the units with at most `window` in progress, writing each item's outcome to the
 * output as it comes (the output keeps input order). No unit starts once the budget is spent
 * (an item fails with BUDGET_EXCEEDED), the server refused the key (AUTH_FAILED), or `stop`
 * fired; the units not started are written as failed with a line that says why, so the
 * output has a line for every item either way.
 */
export async function runUnits(units: readonly WorkUnit[], options: RunUnitsOptions): Promise<{ readonly stopped: Stopped; readonly refusal?: Refusal }> {
  let next = 0;
  let stopped: Stopped;
  let refusal: Refusal | undefined;
  const settle = (unit: WorkUnit, outcomes: readonly ItemOutcome[]) => {
    unit.indexes.forEach((index, i) => {
      options.output.set(index, outcomes[i] ?? failed(new Error('the unit gave no outcome for this item')));
    });
    for (const outcome of outcomes) {
      if (outcome.ok || stopped) continue;
      if (outcome.error.code === 'BUDGET_EXCEEDED') stopped = 'budget';
      else if (EVERY_CALL_WOULD_FAIL.has(outcome.error.code)) {
        stopped = 'refused';
        refusal = outcome.error;
      }
    }
    options.onOutcomes(outcomes);
  };
  const worker = async () => {
    while (next < units.length && !stopped && !options.stop.aborted) {
      const unit = units[next++]!;
      let outcomes: readonly ItemOutcome[];
      try {
        outcomes = await unit.run();
      } catch (error) {
        outcomes = unit.indexes.map(() => failed(error));
      }
      // A call cut short by Ctrl-C (its executor shut down) is an interrupted item, not a failed one.
      if (options.stop.aborted)
        outcomes = outcomes.map((o) => (!o.ok && (o.error.code === 'EXECUTOR_CLOSED' || o.error.code === 'ABORTED') ? interrupted() : o));
      settle(unit, outcomes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.window, units.length) }, worker));
  if (!stopped && options.stop.aborted) stopped = 'interrupted';
  const notStarted: ItemOutcome =
    stopped === 'budget'
      ? { ok: false, error: { code: 'BUDGET_EXCEEDED', message: 'not started: the budget (--budget) was spent' } }
      : stopped === 'refused'
        ? {
            ok: false,
            error: {
              code: 'NOT_STARTED',
              message: `not started: an earlier call failed with ${refusal?.code ?? 'an error'} that every call would meet`,
            },
          }
        : interrupted();
  for (const unit of units.slice(next))
    settle(
      unit,
      unit.indexes.map(() => notStarted),
    );
  return refusal ? { stopped, refusal } : { stopped };
}

function interrupted(): ItemOutcome {
  return {
    ok: false,
    error: { code: INTERRUPTED, message: 'the run was interrupted before this item was done: run the same command again (with the same --store) to finish' },
  };
}
