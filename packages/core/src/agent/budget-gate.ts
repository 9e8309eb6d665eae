import { meanPico, SpendProjection } from '../budget/spend-projection.js';
import type { Tally } from '../budget/tally.js';
import { abortError } from '../errors.js';
import { usdToPico } from '../util/money.js';

/**
 * Admission control for many agent calls under one budget (a coordinator run, a ranking,
 * an extraction), by the spend projection's rule: the first call runs alone, as a probe;
 * after that a call starts only while what is spent plus what the calls in flight will
 * likely cost (the mean of the calls finished so far, each) leaves room for it. So a
 * fan-out of hundreds cannot all start on an empty ledger, and the budget is passed by at
 * most about one call.
 */
export class BudgetGate {
  /** The budget's projection over the spend: the owner reads it for its own checks (spent, what is left). */
  readonly projection: SpendProjection;
  readonly #signal: AbortSignal;
  #inFlight = 0;
  #finished = 0;
  #waiters: (() => void)[] = [];

  /**
   * `spent` is the tally the calls are booked in (the gate reads it, it does not keep the
   * spend), or a reader of the dollars spent: the float edge, each read turned to
   * pico-dollars. Once `signal` aborts, every waiting call wakes and throws its reason.
   */
  constructor(budgetUsd: number, spent: Pick<Tally, 'costPico'> | (() => number), signal: AbortSignal) {
    const spentPico = typeof spent === 'function' ? () => usdToPico(spent()) ?? 0n : () => spent.costPico;
    this.projection = new SpendProjection(budgetUsd, spentPico);
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#wake(), { once: true });
  }

  /**
   * Waits for room. The call counts as in flight from the same tick as the decision, so
   * two waiters woken together cannot both take the last room. Throws the signal's reason
   * once it is aborted, a BudgetExceededError once the budget is spent.
   */
  async admit(): Promise<void> {
    const projection = this.projection;
    for (;;) {
      if (this.#signal.aborted) throw abortError(this.#signal, { what: 'operation' });
      if (projection.exhausted) throw projection.error();
      // Before the first charged call there is no mean: the projection is still in its slow start.
      const mean = meanPico(projection.spentPico, this.#finished) ?? 0n;
      if (projection.fits(mean, { calls: this.#inFlight, estimatePico: BigInt(this.#inFlight) * mean })) {
        this.#inFlight++;
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** An admitted call ended; `charged` when its cost is now in the spend (it then counts towards the mean, and ends the slow start). */
  release(charged: boolean): void {
    this.#inFlight--;
    if (charged) {
      this.#finished++;
      this.projection.observe(0n); // the gate estimates by the mean: the largest charge is not needed
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
