import { SpendProjection } from '../budget/spend-projection.js';
import { Tally } from '../budget/tally.js';
import type { CompletionResult } from '../executor/types.js';

/**
 * What one agent run (or one runMany) has spent, shared by its calls: the tally, the jobs
 * its calls made, and its `budgetUsd` as a spend projection, checked before each call (a
 * first call, a re-ask, an item asked alone after a packed call).
 */
export class RunSpend {
  readonly tally = new Tally();
  readonly jobIds: string[] = [];
  readonly #limit: SpendProjection | undefined;

  constructor(budgetUsd: number | undefined) {
    this.#limit = budgetUsd === undefined ? undefined : new SpendProjection(budgetUsd, () => this.tally.costPico);
  }

  /** Throws a BudgetExceededError once the run's budget is spent. */
  check(): void {
    if (this.#limit?.exhausted) throw this.#limit.error();
  }

  /**
   * Books one model call's result as one call, whatever its executor `attempts` (its
   * `costUsd` is read back to pico-dollars by the tally: the float edge).
   */
  add(result: Pick<CompletionResult, 'usage' | 'costUsd' | 'jobId'>): void {
    this.tally.add({ usage: result.usage, costUsd: result.costUsd });
    if (result.jobId) this.jobIds.push(result.jobId);
  }
}
