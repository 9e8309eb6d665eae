import { SpendProjection } from '../budget/spend-projection.js';
import type { BudgetExceededError } from '../errors.js';
import type { CostLedger } from './ledger.js';

/**
 * The executor's budget: the spend projection over its ledger. Money is booked when a job
 * is created, but a burst of calls dispatched on an empty ledger would all pass a check of
 * what is spent: so each call's cost is estimated before it is sent (see `estimate`) and
 * reserved until its job's charge is booked. The projection's rule then decides: the first
 * call alone, after that while the spend plus the reservations leave room. The budget is
 * passed by at most about one call as long as no call costs much more than the largest
 * charge seen so far: answers that keep growing longer can pass it by what each call in
 * flight costs over that.
 */
export class Budget {
  readonly #projection: SpendProjection;
  readonly #ledger: CostLedger;
  /** Estimates of calls dispatched whose jobs have not been charged yet. */
  #reservedPico = 0n;

  constructor(usd: number, ledger: CostLedger) {
    this.#ledger = ledger;
    this.#projection = new SpendProjection(usd, () => ledger.total.costPico);
  }

  /** The budget as given (float dollars, the option's edge). */
  get usd(): number {
    return this.#projection.limitUsd;
  }

  get spent(): boolean {
    return this.#projection.exhausted;
  }

  /**
   * A call's likely cost: its input tokens plus output tokens at the ledger's prices (the
   * mean output of the jobs so far once there are some, else `reservedOutputTokens`), or the
   * largest charge of one job so far when that is higher (a model that writes long answers,
   * a server that charges more than `pricing` says).
   */
  estimate(inputTokens: number, reservedOutputTokens: number): bigint {
    const total = this.#ledger.total;
    const jobs = total.calls - total.cachedCalls;
    const outputTokens = jobs > 0 ? Math.ceil(total.outputTokens / jobs) : reservedOutputTokens;
    const byTokens = this.#ledger.priceOf({ inputTokens, cachedInputTokens: 0, outputTokens });
    const largest = this.#projection.largestPico;
    return byTokens > largest ? byTokens : largest;
  }

  /** One job's charge became known (at its create, or its final figure). True when it is the first. */
  observe(pico: bigint): boolean {
    return this.#projection.observe(pico);
  }

  /** Whether a call estimated at `estimatePico` may start, with `running` calls in flight (the projection's rule). */
  fits(estimatePico: bigint, running: number): boolean {
    return this.#projection.fits(estimatePico, { calls: running, estimatePico: this.#reservedPico });
  }

  reserve(pico: bigint): void {
    this.#reservedPico += pico;
  }

  release(pico: bigint): void {
    this.#reservedPico -= pico;
  }

  error(): BudgetExceededError {
    return this.#projection.error();
  }
}
