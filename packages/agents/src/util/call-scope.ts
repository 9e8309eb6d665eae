import { AbortError, BudgetExceededError, StructuredOutputError } from '@shoal/core';
import { Tally } from './options.js';

/**
 * The model calls of one operation (a ranking, an extraction, a classification):
 *
 * - a budget admitted call by call: a call starts only while what is spent plus the likely
 *   cost of the calls in flight (their mean so far) fits, and the first call runs alone to
 *   learn that cost, so parallel calls pass the budget by about one call at most;
 * - one spend tally, which also counts calls whose answers could not be read (paid all the same);
 * - cancellation: when one call fails the operation, the others are stopped and awaited,
 *   so nothing runs on (or spends) after the operation has ended.
 */
export class CallScope {
  readonly tally = new Tally();
  readonly #controller = new AbortController();
  readonly #budgetUsd: number | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Calls admitted and not yet ended (counted at admission, before any await, so parallel callers see each other). */
  #running = 0;
  #waiters: (() => void)[] = [];
  #unlink: (() => void) | undefined;

  constructor(budgetUsd: number | undefined, signal: AbortSignal | undefined) {
    this.#budgetUsd = budgetUsd;
    if (signal) {
      const forward = () => this.#controller.abort(signal.reason);
      if (signal.aborted) forward();
      else {
        signal.addEventListener('abort', forward, { once: true });
        this.#unlink = () => signal.removeEventListener('abort', forward);
      }
    }
    this.#controller.signal.addEventListener('abort', () => this.#wake(), { once: true });
  }

  /** Passed to every call: aborted by the caller's signal or by cancel(). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** What is left of the budget, for the calls' own checks (a re-ask). */
  remainingUsd(): number | undefined {
    return this.#budgetUsd === undefined ? undefined : Math.max(0, this.#budgetUsd - this.tally.costUsd);
  }

  /**
   * Runs `call` once the budget admits it. `call` returns what it spent (`usage`, `costUsd`,
   * and `attempts` or `calls`); a StructuredOutputError's spend is counted too.
   */
  async run<R extends Parameters<Tally['add']>[0]>(call: () => Promise<R>): Promise<R> {
    await this.#admit();
    let promise: Promise<R>;
    try {
      promise = call();
    } catch (error) {
      this.#running--;
      this.#wake();
      throw error;
    }
    promise = promise.then(
      (result) => {
        this.tally.add(result);
        return result;
      },
      (error: unknown) => {
        if (StructuredOutputError.isInstance(error)) this.tally.add({ usage: error.usage, costUsd: error.costUsd, calls: error.attempts });
        throw error;
      },
    );
    this.#inFlight.add(promise);
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(promise);
      this.#running--;
      this.#wake();
    }
  }

  async #admit(): Promise<void> {
    for (;;) {
      if (this.#controller.signal.aborted) throw abortReason(this.#controller.signal);
      const budget = this.#budgetUsd;
      const spent = this.tally.costUsd;
      if (budget !== undefined && spent >= budget) throw new BudgetExceededError(budget, spent);
      const mean = this.tally.calls > 0 ? spent / this.tally.calls : undefined;
      if (budget === undefined || this.#running === 0 || (mean !== undefined && spent + (this.#running + 1) * mean <= budget)) {
        this.#running++;
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
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

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new AbortError('The operation was cancelled.');
}
