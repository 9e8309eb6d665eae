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
  /** Units in progress at once: enough to keep the executor's slots full, few enough to keep memory flat. */
  readonly window: number;
  readonly output: OrderedOutput;
  /** Aborted on Ctrl-C: no unit starts after it. */
  readonly stop: AbortSignal;
  /** Called after each unit with its outcomes (progress). */
  readonly onOutcomes: (outcomes: readonly ItemOutcome[]) => void;
}

export interface RunUnitsResult {
  /** The budget ran out: units after it were not started. */
  readonly budgetStopped: boolean;
  /** Units not started because of Ctrl-C or the budget. */
  readonly notStarted: number;
}

/**
 * Runs the units with at most `window` in progress, writing each item's outcome to the
 * output as it comes (the output keeps input order). Once the budget is spent (an item
 * fails with BUDGET_EXCEEDED) or `stop` fires, no unit starts; the ones not started are
 * written as failed with BUDGET_EXCEEDED or INTERRUPTED, so the output has a line for every
 * item either way.
 */
export async function runUnits(units: readonly WorkUnit[], options: RunUnitsOptions): Promise<RunUnitsResult> {
  let next = 0;
  let budgetStopped = false;
  const settle = (unit: WorkUnit, outcomes: readonly ItemOutcome[]) => {
    unit.indexes.forEach((index, i) => {
      options.output.set(index, outcomes[i] ?? failed(new Error('the unit gave no outcome for this item')));
    });
    if (outcomes.some((o) => !o.ok && o.error.code === 'BUDGET_EXCEEDED')) budgetStopped = true;
    options.onOutcomes(outcomes);
  };
  const worker = async () => {
    while (next < units.length && !budgetStopped && !options.stop.aborted) {
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
  const notStarted = units.length - next;
  for (const unit of units.slice(next)) {
    const outcome: ItemOutcome = budgetStopped
      ? { ok: false, error: { code: 'BUDGET_EXCEEDED', message: 'not started: the budget (--budget) was spent' } }
      : interrupted();
    settle(
      unit,
      unit.indexes.map(() => outcome),
    );
  }
  return { budgetStopped, notStarted };
}

function interrupted(): ItemOutcome {
  return {
    ok: false,
    error: { code: INTERRUPTED, message: 'the run was interrupted before this item was done: run the same command again (with the same --store) to finish' },
  };
}
