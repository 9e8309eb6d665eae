import { BudgetExceededError } from '../errors.js';
import { picoToUsd, usdToPico } from '../util/money.js';

/** What is in flight under a limit: how many calls, and what they will likely cost together. */
export interface InFlight {
  readonly calls: number;
  readonly estimatePico: bigint;
}

/** More than any bill: a limit too large to be an amount ($1e28 and up) stands for none. */
const NO_LIMIT_PICO = 10n ** 40n;

/**
 * The one rule for spending under a limit, used by the executor's budget, the BudgetGate
 * of coordinator runs and ready-made agents, and an agent run's own checks:
 *
 * - once the spend reaches the limit, nothing more starts (`exhausted`);
 * - until one charge is known a call's estimate is only a guess, so the first call runs
 *   alone (a slow start);
 * - after that a call starts only while spent + the estimate of the calls in flight + this
 *   call's estimate <= limit; with nothing in flight it always starts, so a limit smaller
 *   than one call still lets one call through.
 *
 * So the limit is passed by at most about one call while no call costs much more than its
 * estimate. All sums are integer pico-dollars; the limit is given in float dollars (an
 * option, the edge) and turned to pico once, here.
 */
export class SpendProjection {
  /** The limit as given, for errors and events. */
  readonly limitUsd: number;
  readonly limitPico: bigint;
  readonly #spentPico: () => bigint;
  #known = false;
  #largestPico = 0n;

  /** `spentPico` reads what is spent so far (a tally or a ledger keeps it, not the projection). */
  constructor(limitUsd: number, spentPico: () => bigint) {
    this.limitUsd = limitUsd;
    this.limitPico = usdToPico(limitUsd) ?? NO_LIMIT_PICO;
    this.#spentPico = spentPico;
  }

  get spentPico(): bigint {
    return this.#spentPico();
  }

  /** The spend has reached the limit: no further call. */
  get exhausted(): boolean {
    return this.#spentPico() >= this.limitPico;
  }

  /** Whether a charge is known yet (the slow start is over). */
  get known(): boolean {
    return this.#known;
  }

  /** The largest single charge seen so far (0 before the first). */
  get largestPico(): bigint {
    return this.#largestPico;
  }

  /** A call's charge became known; it ends the slow start. True when it is the first. */
  observe(chargePico: bigint): boolean {
    if (chargePico > this.#largestPico) this.#largestPico = chargePico;
    const first = !this.#known;
    this.#known = true;
    return first;
  }

  /** Whether a call estimated at `estimatePico` may start beside `inFlight`. */
  fits(estimatePico: bigint, inFlight: InFlight): boolean {
    if (inFlight.calls === 0) return true;
    return this.#known && this.#spentPico() + inFlight.estimatePico + estimatePico <= this.limitPico;
  }

  /** What is left of the limit (0 once passed), in float dollars for a nested run's `budgetUsd`: exact, no float subtraction. */
  remainingUsd(): number {
    const left = this.limitPico - this.#spentPico();
    return left > 0n ? picoToUsd(left) : 0;
  }

  /** The error for a spent limit, saying what was spent. */
  error(): BudgetExceededError {
    return new BudgetExceededError(this.limitUsd, picoToUsd(this.#spentPico()));
  }
}

/** The mean of `count` charges summing to `totalPico`, rounded up (an estimate errs on the side of the limit); undefined before the first. */
export function meanPico(totalPico: bigint, count: number): bigint | undefined {
  if (count <= 0) return undefined;
  const n = BigInt(count);
  return (totalPico + n - 1n) / n;
}
