import { randomUUID } from 'node:crypto';
import type { BudgetExceededError } from '@shoal/core';
import { optionError, picoToUsd, usdToPico } from '@shoal/core/internal';
import type { Redis } from 'ioredis';
import { BudgetRecords, exceeded } from './shared-budget.js';

/**
 * A producer's budget: its record in Redis (shared-budget.ts), which every worker spends
 * from, and what the producer last read of it. Once Redis says it is spent, the producer
 * refuses new calls itself, before they are queued; calls already queued are refused by
 * the workers, without a create.
 */
export class ProducerBudget {
  readonly id = randomUUID();
  readonly usd: number;
  readonly #records: BudgetRecords;
  readonly #limitPico: bigint | undefined;
  /** What Redis said was spent, at the last read. */
  #spentPico = 0n;
  #reading: Promise<void> | undefined;
  #readAgain = false;

  private constructor(records: BudgetRecords, usd: number) {
    this.#records = records;
    this.usd = usd;
    this.#limitPico = usdToPico(usd);
  }

  /** Throws a ShoalConfigError for a `budgetUsd` that is not an amount. */
  static check(usd: unknown): void {
    if (typeof usd !== 'number' || Number.isNaN(usd) || usd < 0) {
      throw optionError(
        'budgetUsd',
        'a number from 0 and up',
        usd,
        "It is US dollars for all of this producer's calls, on every worker; leave it out for no limit.",
      );
    }
  }

  /** Writes the budget's record (the option checked already). */
  static async create(redis: Redis, queue: string, usd: number): Promise<ProducerBudget> {
    const budget = new ProducerBudget(new BudgetRecords(redis, queue), usd);
    await budget.#records.create(budget.id, usd);
    return budget;
  }

  /** What Redis has booked against the budget so far (at the last read): every job of this producer's calls, failed ones too. */
  get spentUsd(): number {
    return picoToUsd(this.#spentPico);
  }

  /** Refuses a call before it is queued once the budget is spent (as last read). */
  refusal(): BudgetExceededError | undefined {
    if (this.#limitPico === undefined || this.#spentPico < this.#limitPico) return undefined;
    return exceeded(this.#limitPico, this.#spentPico);
  }

  /** Reads the spend from Redis again (one read at a time; a read asked for meanwhile follows it). */
  refresh(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    const read = async (): Promise<void> => {
      do {
        this.#readAgain = false;
        const spent = await this.#records.spentPico(this.id).catch(() => undefined);
        if (spent === undefined) continue;
        if (spent > this.#spentPico) this.#spentPico = spent;
      } while (this.#readAgain);
    };
    this.#reading = read().finally(() => (this.#reading = undefined));
    return this.#reading;
  }
}
