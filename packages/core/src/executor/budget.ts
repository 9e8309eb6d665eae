import { BudgetExceededError } from '../errors.js';
import { picoToUsd } from '../util/money.js';
import type { CostLedger } from './ledger.js';

/**
 * The executor's budget. Money is booked when a job is created, but a burst of calls
 * dispatched on an empty ledger would all pass a check of what is spent: so each call's
 * cost is estimated before it is sent (see `estimate`)
 * and reserved until its job's charge is booked. A call starts only while the spend plus
 * the reservations leave room for it, or when nothing else runs (so a budget smaller than
 * one call still lets one call through, and the budget is passed by at most about one call).
 */
export class Budget {
  readonly usd: number;
  readonly pico: bigint;
  readonly #ledger: CostLedger;
  /** Estimates of calls dispatched whose jobs have not been charged yet. */
  #reservedPico = 0n;

  constructor(usd: number, ledger: CostLedger) {
    this.usd = usd;
    this.pico = BigInt(Math.round(usd * 1e12));
    this.#ledger = ledger;
  }

  get spentPico(): bigint {
    return this.#ledger.total.costPico;
  }

  get spent(): boolean {
    return this.#ledger.total.costPico >= this.pico;
  }

  get reservedPico(): bigint {
    return this.#reservedPico;
  }

  /**
   * A call's likely cost: its input tokens plus output tokens at the ledger's prices (the
   * mean output of the jobs so far once there are some, else `reservedOutputTokens`), or
   * the mean cost of a job so far when that is higher.
   */
  estimate(inputTokens: number, reservedOutputTokens: number): bigint {
    const total = this.#ledger.total;
    const jobs = total.calls - total.cachedCalls;
    const outputTokens = jobs > 0 ? Math.ceil(total.outputTokens / jobs) : reservedOutputTokens;
    const byTokens = this.#ledger.priceOf({ inputTokens, cachedInputTokens: 0, outputTokens });
    const mean = jobs > 0 ? total.costPico / BigInt(jobs) : 0n;
    return byTokens > mean ? byTokens : mean;
  }

  /** Whether a call estimated at `estimatePico` may start, with `running` calls in flight. */
  fits(estimatePico: bigint, running: number): boolean {
    return running === 0 || this.#ledger.total.costPico + this.#reservedPico + estimatePico <= this.pico;
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
