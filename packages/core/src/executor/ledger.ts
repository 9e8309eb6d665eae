import { Tally } from '../budget/tally.js';
import type { Usage } from '../providers/types.js';
import { parseUsdToPico, perMillionToPicoPerToken, picoToUsd } from '../util/money.js';
import { expectNumber } from '../util/options.js';

/** Prices in USD per million tokens. Defaults are the vendor's page for openai/gpt-5.4-nano. */
export interface Pricing {
  /** @default 0.2 */
  readonly inputPerMillionUsd?: number;
  /** @default 0.02 */
  readonly cachedInputPerMillionUsd?: number;
  /** @default 1.25 */
  readonly outputPerMillionUsd?: number;
}

export const GPT_5_4_NANO_PRICING: Required<Pricing> = Object.freeze({
  inputPerMillionUsd: 0.2,
  cachedInputPerMillionUsd: 0.02,
  outputPerMillionUsd: 1.25,
});

/** Where a call's cost came from. */
export type CostSource = 'amount' | 'usage' | 'counted' | 'cache';

/** The ledger's tally: calls answered (`calls`, the cached ones among them), failed calls beside them, tokens and cost. */
export class Totals extends Tally {
  cachedCalls = 0;
  failedCalls = 0;
}

/** Calls, tokens and cost added up: the executor's totals (`metrics().totals`), or one tag's (`metrics().byTag`). */
export interface TotalsSnapshot {
  /** Calls answered, the cached and shared ones included. */
  readonly calls: number;
  /** Answered calls that cost nothing: from the cache, or shared with an identical call in flight. */
  readonly cachedCalls: number;
  /** Calls that ended with an error (not counted in `calls`). */
  readonly failedCalls: number;
  /** Input tokens, the cached ones included. */
  readonly inputTokens: number;
  /** Input tokens served from the provider's prefix cache. */
  readonly cachedInputTokens: number;
  /** Output tokens. */
  readonly outputTokens: number;
  /** What was spent, in USD (failed jobs that were charged included). */
  readonly costUsd: number;
}

export function snapshotTotals(t: Totals): TotalsSnapshot {
  return {
    calls: t.calls,
    cachedCalls: t.cachedCalls,
    failedCalls: t.failedCalls,
    inputTokens: t.inputTokens,
    cachedInputTokens: t.cachedInputTokens,
    outputTokens: t.outputTokens,
    costUsd: picoToUsd(t.costPico),
  };
}

export class CostLedger {
  readonly #prices: { input: bigint; cached: bigint; output: bigint };
  readonly total = new Totals();
  readonly #byTag = new Map<string, Totals>();

  constructor(pricing: Pricing = {}) {
    const p = { ...GPT_5_4_NANO_PRICING };
    for (const key of Object.keys(GPT_5_4_NANO_PRICING) as (keyof Pricing)[]) {
      // Checked here too (not only by createExecutor): BigInt() of NaN or Infinity would throw a bare RangeError.
      if (pricing[key] !== undefined) p[key] = expectNumber(`pricing.${key}`, pricing[key], { min: 0 });
    }
    this.#prices = {
      input: perMillionToPicoPerToken(p.inputPerMillionUsd),
      cached: perMillionToPicoPerToken(p.cachedInputPerMillionUsd),
      output: perMillionToPicoPerToken(p.outputPerMillionUsd),
    };
  }

  /** The price of `usage` at this ledger's rates, in pico-USD. */
  priceOf(usage: Usage): bigint {
    const cached = BigInt(usage.cachedInputTokens);
    return (BigInt(usage.inputTokens) - cached) * this.#prices.input + cached * this.#prices.cached + BigInt(usage.outputTokens) * this.#prices.output;
  }

  /** The cost of a finished job: the server's amount when it gave one, else usage at our prices. */
  costOf(amountUsd: string | undefined, usage: Usage, usageSource: 'usage' | 'counted'): { pico: bigint; source: CostSource } {
    const fromAmount = amountUsd === undefined ? undefined : parseUsdToPico(amountUsd);
    if (fromAmount !== undefined) return { pico: fromAmount, source: 'amount' };
    return { pico: this.priceOf(usage), source: usageSource };
  }

  /** Books money alone (a job's charge, known at its create), with no call counted. */
  charge(pico: bigint, tags: readonly string[] | undefined): void {
    this.total.book(undefined, pico, 0);
    if (tags) for (const tag of tags) this.#tag(tag).book(undefined, pico, 0);
  }

  #tag(tag: string): Totals {
    let t = this.#byTag.get(tag);
    if (!t) this.#byTag.set(tag, (t = new Totals()));
    return t;
  }

  record(kind: 'job' | 'cached' | 'failed', usage: Usage | undefined, pico: bigint, tags: readonly string[] | undefined): void {
    this.#add(this.total, kind, usage, pico);
    if (tags) for (const tag of tags) this.#add(this.#tag(tag), kind, usage, pico);
  }

  #add(t: Totals, kind: 'job' | 'cached' | 'failed', usage: Usage | undefined, pico: bigint): void {
    // A failed call is counted beside the answered ones; a cached answer used no tokens.
    if (kind === 'failed') t.failedCalls++;
    if (kind === 'cached') t.cachedCalls++;
    t.book(kind === 'cached' ? undefined : usage, pico, kind === 'failed' ? 0 : 1);
  }

  byTag(): Record<string, TotalsSnapshot> {
    const out: Record<string, TotalsSnapshot> = {};
    for (const [tag, t] of this.#byTag) out[tag] = snapshotTotals(t);
    return out;
  }
}
