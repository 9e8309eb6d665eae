import { StructuredOutputError } from '@shoal/core';
import { abortError, BudgetGate, Tally } from '@shoal/core/internal';

/**
 * The model calls of one operation (a ranking, an extraction, a classification):
 *
 * - a budget admitted call by call (core's BudgetGate: the first call runs alone to learn
 *   the cost, then a call starts only while the spend plus the likely cost of the calls in
 *   flight fits), so parallel calls pass the budget by about one call at most;
 * - one spend tally, which also counts calls whose answers could not be read (paid all the same);
 * - cancellation: when one call fails the operation, the others are stopped and awaited,
 *   so nothing runs on (or spends) after the operation has ended.
 */
export class CallScope {
  readonly tally = new Tally();
  readonly #controller = new AbortController();
  /** With a budget: admission of the calls (core's, shared with the coordinator), over `tally`. */
  readonly #gate: BudgetGate | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #unlink: (() => void) | undefined;

  constructor(budgetUsd: number | undefined, signal: AbortSignal | undefined) {
    if (signal) {
      const forward = () => this.#controller.abort(signal.reason);
      if (signal.aborted) forward();
      else {
        signal.addEventListener('abort', forward, { once: true });
        this.#unlink = () => signal.removeEventListener('abort', forward);
      }
    }
    this.#gate = budgetUsd === undefined ? undefined : new BudgetGate(budgetUsd, this.tally, this.#controller.signal);
  }

  /** Passed to every call: aborted by the caller's signal or by cancel(). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** What is left of the budget, for the calls' own checks (a re-ask): exact, in float dollars for the call's `budgetUsd`. */
  remainingUsd(): number | undefined {
    return this.#gate?.projection.remainingUsd();
  }

  /**
   * Runs `call` once the budget admits it. `call` returns what it spent (`usage`, `costUsd`,
   * and `attempts` or `calls`); a StructuredOutputError's spend is counted too.
   */
  async run<R extends Parameters<Tally['add']>[0]>(call: () => Promise<R>): Promise<R> {
    if (this.#gate) await this.#gate.admit();
    else if (this.#controller.signal.aborted) throw abortError(this.#controller.signal, { what: 'operation' });
    let charged = false;
    const promise = (async () => {
      try {
        const result = await call();
        this.tally.add(result);
        charged = true;
        return result;
      } catch (error) {
        if (StructuredOutputError.isInstance(error)) {
          this.tally.add({ usage: error.usage, costUsd: error.costUsd, calls: error.attempts });
          charged = true;
        }
        throw error;
      }
    })();
    this.#inFlight.add(promise);
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(promise);
      this.#gate?.release(charged);
    }
  }

  /** Stops the calls still in flight and waits until they have ended. */
  async cancel(reason: unknown): Promise<void> {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Runs the operation; if it fails, the calls it left in flight are cancelled and awaited before the error goes on. */
  async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      await this.cancel(error);
      throw error;
    } finally {
      this.#unlink?.();
    }
  }
}
