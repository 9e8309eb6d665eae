import { Tally } from '../budget/tally.js';
import type { ModelPrices } from '../providers/prices.js';
import type { Usage } from '../providers/types.js';
import { parseUsdToPico, perMillionToPicoPerToken, picoToUsd } from '../util/money.js';

/**
 * Where a call's cost came from: the server's charge, usage it reported or that we counted
 * (at the model's prices), the cache (free), or nowhere: `unpriced`, a model without a
 * known price whose server reports no charge (booked as 0 and counted in `unpricedCalls`).
 */
export type CostSource = 'amount' | 'usage' | 'counted' | 'cache' | 'unpriced';

/** The ledger's tally: calls answered (`calls`, the cached ones among them), failed calls beside them, tokens and cost. */
export class Totals extends Tally {
  cachedCalls = 0;
  failedCalls = 0;
  unpricedCalls = 0;
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
  /** The cost of the calls whose price is known: all of them unless `unpricedCalls` says otherwise. */
  readonly costUsd: number;
  /** Jobs answered that could not be priced: the model has no known price (pass `pricing`) and the server reported no charge. */
  readonly unpricedCalls: number;
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
    unpricedCalls: t.unpricedCalls,
  };
}

export class CostLedger {
  readonly #prices: { input: bigint; cached: bigint; output: bigint } | undefined;
  readonly total = new Totals();
  readonly #byTag = new Map<string, Totals>();

  /** `prices` checked (`resolvePrices`); undefined when the model's price is unknown. */
  constructor(prices: Required<ModelPrices> | undefined) {
    this.#prices = prices && {
      input: perMillionToPicoPerToken(prices.inputPerMillionUsd),
      cached: perMillionToPicoPerToken(prices.cachedInputPerMillionUsd),
      output: perMillionToPicoPerToken(prices.outputPerMillionUsd),
    };
  }

  /** The price of `usage` at this ledger's rates, in pico-USD; 0 when the prices are unknown. */
  priceOf(usage: Usage): bigint {
    const p = this.#prices;
    if (!p) return 0n;
    const cached = BigInt(usage.cachedInputTokens);
    return (BigInt(usage.inputTokens) - cached) * p.input + cached * p.cached + BigInt(usage.outputTokens) * p.output;
  }

  /** The cost of a finished job: the server's amount when it gave one, else usage at our prices, else unpriced (0). */
  costOf(amountUsd: string | undefined, usage: Usage, usageSource: 'usage' | 'counted'): { pico: bigint; source: CostSource } {
    const fromAmount = amountUsd === undefined ? undefined : parseUsdToPico(amountUsd);
    if (fromAmount !== undefined) return { pico: fromAmount, source: 'amount' };
    if (!this.#prices) return { pico: 0n, source: 'unpriced' };
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

  /** Books a call; `unpriced` when its job's cost could not be known (source `unpriced`). */
  record(kind: 'job' | 'cached' | 'failed', usage: Usage | undefined, pico: bigint, tags: readonly string[] | undefined, unpriced = false): void {
    this.#add(this.total, kind, usage, pico, unpriced);
    if (tags) for (const tag of tags) this.#add(this.#tag(tag), kind, usage, pico, unpriced);
  }

  #add(t: Totals, kind: 'job' | 'cached' | 'failed', usage: Usage | undefined, pico: bigint, unpriced: boolean): void {
    // A failed call is counted beside the answered ones; a cached answer used no tokens.
    if (kind === 'failed') t.failedCalls++;
    if (kind === 'cached') t.cachedCalls++;
    if (unpriced) t.unpricedCalls++;
    t.book(kind === 'cached' ? undefined : usage, pico, kind === 'failed' ? 0 : 1);
  }

  byTag(): Record<string, TotalsSnapshot> {
    const out: Record<string, TotalsSnapshot> = {};
    for (const [tag, t] of this.#byTag) out[tag] = snapshotTotals(t);
    return out;
  }
}
