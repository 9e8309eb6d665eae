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

export interface Totals {
  calls: number;
  cachedCalls: number;
  failedCalls: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costPico: bigint;
}

export interface TotalsSnapshot {
  readonly calls: number;
  readonly cachedCalls: number;
  readonly failedCalls: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

const emptyTotals = (): Totals => ({ calls: 0, cachedCalls: 0, failedCalls: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costPico: 0n });

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
  readonly total: Totals = emptyTotals();
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
    return (
      (BigInt(usage.inputTokens) - cached) * this.#prices.input + cached * this.#prices.cached + BigInt(usage.outputTokens) * this.#prices.output
    );
  }

  /** The cost of a finished job: the server's amount when it gave one, else usage at our prices. */
  costOf(amountUsd: string | undefined, usage: Usage, usageSource: 'usage' | 'counted'): { pico: bigint; source: CostSource } {
    const fromAmount = amountUsd === undefined ? undefined : parseUsdToPico(amountUsd);
    if (fromAmount !== undefined) return { pico: fromAmount, source: 'amount' };
    return { pico: this.priceOf(usage), source: usageSource };
  }

  /** Books money alone (a job's charge, known at its create), with no call counted. */
  charge(pico: bigint, tags: readonly string[] | undefined): void {
    this.total.costPico += pico;
    if (tags) for (const tag of tags) this.#tag(tag).costPico += pico;
  }

  #tag(tag: string): Totals {
    let t = this.#byTag.get(tag);
    if (!t) this.#byTag.set(tag, (t = emptyTotals()));
    return t;
  }

  record(kind: 'job' | 'cached' | 'failed', usage: Usage | undefined, pico: bigint, tags: readonly string[] | undefined): void {
    this.#add(this.total, kind, usage, pico);
    if (tags) for (const tag of tags) this.#add(this.#tag(tag), kind, usage, pico);
  }

  #add(t: Totals, kind: 'job' | 'cached' | 'failed', usage: Usage | undefined, pico: bigint): void {
    if (kind === 'failed') t.failedCalls++;
    else t.calls++;
    if (kind === 'cached') t.cachedCalls++;
    if (usage && kind !== 'cached') {
      t.inputTokens += usage.inputTokens;
      t.cachedInputTokens += usage.cachedInputTokens;
      t.outputTokens += usage.outputTokens;
    }
    t.costPico += pico;
  }

  byTag(): Record<string, TotalsSnapshot> {
    const out: Record<string, TotalsSnapshot> = {};
    for (const [tag, t] of this.#byTag) out[tag] = snapshotTotals(t);
    return out;
  }
}
