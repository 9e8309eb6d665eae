import { SpendProjection } from '../budget/spend-projection.js';
import { Tally } from '../budget/tally.js';
import type { ShoalConfigError } from '../errors.js';
import type { CompletionResult, Executor } from '../executor/types.js';
import { refuseUnpricedBudget, unpricedBudgetError } from '../providers/prices.js';

/**
 * What one agent run (or one runMany) has spent, shared by its calls: the tally, the jobs
 * its calls made, and its `budgetUsd` as a spend projection, checked before each call (a
 * first call, a re-ask, an item asked alone after a packed call). A budget on a model of
 * unknown price is refused: up front when the executor knows its prices, else at the first
 * result that says it could not be priced.
 */
export class RunSpend {
  readonly tally = new Tally();
  readonly jobIds: string[] = [];
  readonly #limit: SpendProjection | undefined;
  readonly #agent: string;
  readonly #method: 'run' | 'runMany';

  /**
   * Refuses, before anything is sent, a budget on an executor whose model has no known price.
   * `agent` and `method` name the run in errors ("triage.run({ budgetUsd })"), which are worded
   * only when one is thrown (a run is the hot path).
   */
  constructor(budgetUsd: number | undefined, executor: Pick<Executor, 'metrics' | 'provider'>, agent: string, method: 'run' | 'runMany') {
    this.#agent = agent;
    this.#method = method;
    if (budgetUsd === undefined) return;
    refuseUnpricedBudget(executor, budgetUsd, this.#where());
    this.#limit = new SpendProjection(budgetUsd, () => this.tally.costPico);
  }

  #where(): string {
    return `${this.#agent}.${this.#method}({ budgetUsd })`;
  }

  /** A result of unknown price came back under a budget: every later call of the run is refused with it. */
  #unpriced: ShoalConfigError | undefined;

  /** Throws a BudgetExceededError once the run's budget is spent (or the refusal of a result of unknown price). */
  check(): void {
    if (this.#unpriced) throw this.#unpriced;
    if (this.#limit?.exhausted) throw this.#limit.error();
  }

  /**
   * Books one model call's result as one call, whatever its executor `attempts` (its
   * `costUsd` is read back to pico-dollars by the tally: the float edge).
   */
  add(result: Pick<CompletionResult, 'usage' | 'costUsd' | 'jobId'> & Partial<Pick<CompletionResult, 'unpriced' | 'model'>>): void {
    this.tally.add({ usage: result.usage, costUsd: result.costUsd });
    if (result.jobId) this.jobIds.push(result.jobId);
    // A budget cannot be kept by a call of unknown price. Refused up front where the executor knows its prices; an
    // executor whose calls are priced elsewhere (a @shoal/bullmq producer) says so on the result: the run stops here.
    if (this.#limit && result.unpriced) throw (this.#unpriced ??= unpricedBudgetError(this.#where(), result.model ?? 'the model that answered'));
  }
}
