import type { Usage } from '../providers/types.js';
import { picoToUsd, usdToPico } from '../util/money.js';

/** What a public result says it spent: the executor's, an agent run's, a StructuredOutputError's. */
export interface SpentResult {
  readonly usage: Usage;
  /** Float dollars, as public results carry them. */
  readonly costUsd: number;
  /** Model calls behind the result (an agent run's re-asks). @default 1 */
  readonly attempts?: number;
  /** Model calls behind the result (a batch's), read before `attempts`. */
  readonly calls?: number;
}

/**
 * Running totals of model calls: calls, tokens and cost. The cost is kept in integer
 * pico-dollars, so many small amounts add up exactly (0.000005 + 0.000189 is 0.000194 here,
 * 0.00019400000000000003 as floats). One type for every tally in shoal: an agent run's,
 * a ready-made agent's operation, a coordinator run's and the executor's ledger.
 */
export class Tally {
  calls = 0;
  inputTokens = 0;
  cachedInputTokens = 0;
  outputTokens = 0;
  costPico = 0n;

  /** Books calls, their usage (none for an answer from the cache) and their cost in pico-dollars. */
  book(usage: Usage | undefined, costPico: bigint, calls = 1): void {
    this.calls += calls;
    if (usage) {
      this.inputTokens += usage.inputTokens;
      this.cachedInputTokens += usage.cachedInputTokens;
      this.outputTokens += usage.outputTokens;
    }
    this.costPico += costPico;
  }

  /**
   * Books a public result. The float edge: its `costUsd` comes back to pico-dollars here,
   * exactly for any amount `picoToUsd` wrote below $4,096. A cost that is not an amount
   * (negative, NaN) adds nothing.
   */
  add(result: SpentResult): void {
    this.book(result.usage, usdToPico(result.costUsd) ?? 0n, result.calls ?? result.attempts ?? 1);
  }

  /** The cost in float dollars, for results and errors (the nearest double to the exact sum). */
  get costUsd(): number {
    return picoToUsd(this.costPico);
  }

  usage(): Usage {
    return { inputTokens: this.inputTokens, cachedInputTokens: this.cachedInputTokens, outputTokens: this.outputTokens };
  }
}
