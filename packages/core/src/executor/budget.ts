import { BudgetExceededError } from '../errors.js';
import { picoToUsd, usdToPico } from '../util/money.js';
import type { CostLedger } from './ledger.js';

/**
 * The executor's budget. Money is booked when a job is created, but a burst of calls
 * dispatched on an empty ledger would all pass a check of what is spent: so each call's
 * cost is estimated before it is sent (see `estimate`)
 * and reserved until its job's charge is booked. A call starts only while the spend plus
 * the reservations leave room for it, or when nothing else runs (so a budget smaller than
 * one call still lets one call through). The budget is passed by at most about one call as
 * long as no call costs much more than the largest charge seen so far: answers that keep
 * growing longer can pass it by what each call in flight costs over that.
 */
export class Budget {
  readonly usd: number;
  readonly pico: bigint;
  readonly #ledger: CostLedger;
  /** Estimates of calls dispatched whose jobs have not been charged yet. */
  #reservedPico = 0n;
  /** The largest charge of one job seen so far. */
  #largestPico = 0n;
  /** Whether any job's charge is known yet (until then calls go one at a time). */
  #known = false;

  constructor(usd: number, ledger: CostLedger) {
    this.usd = usd;
    // A budget too large for an amount ($1e28 and up) is as good as none.
    this.pico = usdToPico(usd) ?? 10n ** 40n;
    this.#ledger = ledger;
  }

  get spent(): boolean {
    return this.#ledger.total.costPico >= this.pico;
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
    return byTokens > this.#largestPico ? byTokens : this.#largestPico;
  }

  /** One job's charge became known (at its create, or its final figure). True when it is the first. */
  observe(pico: bigint): boolean {
    if (pico > this.#largestPico) this.#largestPico = pico;
    const first = !this.#known;
    this.#known = true;
    return first;
  }

  /**
   * Whether a call estimated at `estimatePico` may start, with `running` calls in flight.
   * Until one job's charge is known the estimate is only a guess, so calls go one at a time
   * (a slow start); after that, while the spend and the reservations leave room.
   */
  fits(estimatePico: bigint, running: number): boolean {
    if (running === 0) return true;
    return this.#known && this.#ledger.total.costPico + this.#reservedPico + estimatePico <= this.pico;
  }

  reserve(pico: bigint): void {
    this.#reservedPico += pico;
  }

  release(pico: bigint): void {
    this.#reservedPico -= pico;
  }

  error(): BudgetExceededError {
    return new BudgetExceededError(this.usd, picoToUsd(this.#ledger.total.costPico));
  }
}
