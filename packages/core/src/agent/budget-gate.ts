import { AbortError, BudgetExceededError } from '../errors.js';

/**
 * Admission control for many agent calls under one budget (a coordinator run, a ranking,
 * an extraction): a call starts only while what is spent plus what the calls in flight
 * will likely cost (the mean of the calls finished so far) leaves room for it, and the
 * first call runs alone, as a probe. So a fan-out of hundreds cannot all start on an
 * empty ledger, and the budget is passed by at most about one call.
 */
export class BudgetGate {
  readonly #budgetUsd: number;
  readonly #spentUsd: () => number;
  readonly #signal: AbortSignal;
  #inFlight = 0;
  #finished = 0;
  #waiters: (() => void)[] = [];

  /**
   * `spentUsd` reads the spend so far (the gate does not keep it); once `signal` aborts,
   * every waiting call wakes and throws its reason.
   */
  constructor(budgetUsd: number, spentUsd: () => number, signal: AbortSignal) {
    this.#budgetUsd = budgetUsd;
    this.#spentUsd = spentUsd;
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#wake(), { once: true });
  }

  /**
   * Waits for room. The call counts as in flight from the same tick as the decision, so
   * two waiters woken together cannot both take the last room. Throws the signal's reason
   * once it is aborted, a BudgetExceededError once the budget is spent.
   */
  async admit(): Promise<void> {
    for (;;) {
      if (this.#signal.aborted) throw abortReason(this.#signal);
      const spent = this.#spentUsd();
      if (spent >= this.#budgetUsd) throw new BudgetExceededError(this.#budgetUsd, spent);
      const mean = this.#finished > 0 ? spent / this.#finished : undefined;
      if (this.#inFlight === 0 || (mean !== undefined && spent + (this.#inFlight + 1) * mean <= this.#budgetUsd)) {
        this.#inFlight++;
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** An admitted call ended; `charged` when its cost is now in the spend (it then counts towards the mean). */
  release(charged: boolean): void {
    this.#inFlight--;
    if (charged) this.#finished++;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The error an aborted signal stands for: its reason when that is an error, else an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new AbortError('The operation was cancelled.', { cause: reason });
}
