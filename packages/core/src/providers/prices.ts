import { ShoalConfigError } from '../errors.js';
import type { Executor } from '../executor/types.js';
import { checkOptions, expectNumber } from '../util/options.js';

/**
 * What a model's tokens cost, in USD per million tokens. A provider states it (`pricing` on
 * every provider factory, else the table below by model name); the executor's ledger and
 * budget price usage with it whenever the server reports no charge of its own.
 */
export interface ModelPrices {
  /** Input tokens not served from the cache. */
  readonly inputPerMillionUsd: number;
  /** Input tokens served from the provider's prefix cache. @default `inputPerMillionUsd` (no discount known) */
  readonly cachedInputPerMillionUsd?: number;
  /** Output tokens (the answer, reasoning tokens included where the server counts them). */
  readonly outputPerMillionUsd: number;
}

/**
 * The `pricing` option of providers and of `createExecutor()`: prices in USD per million
 * tokens that override, key by key, the known prices of the model. For a model without a
 * known price, give at least input and output.
 */
export type Pricing = Partial<ModelPrices>;

/** One frozen row: the table's rows are handed out (`knownPrices`, `metrics().prices`) and must not change under us. */
function row(inputPerMillionUsd: number, cachedInputPerMillionUsd: number, outputPerMillionUsd: number): Required<ModelPrices> {
  return Object.freeze({ inputPerMillionUsd, cachedInputPerMillionUsd, outputPerMillionUsd });
}

/**
 * Prices of the models we know, by the model name the provider sends. Each row names its
 * source; a price changes when its vendor says so, and a row here is then out of date: pass
 * `pricing` to the provider to override it.
 */
const KNOWN_PRICES: Readonly<Record<string, Required<ModelPrices>>> = Object.freeze({
  // ShortAPI's page for the model (../shared/reference/shortapi-gpt-5.4-nano.md; docs/protocol.md).
  'openai/gpt-5.4-nano': row(0.2, 0.02, 1.25),
  // OpenAI's published API prices (standard tier), as of 2025-08.
  'gpt-5-nano': row(0.05, 0.005, 0.4),
  'gpt-5-mini': row(0.25, 0.025, 2),
  'gpt-4.1-nano': row(0.1, 0.025, 0.4),
  'gpt-4.1-mini': row(0.4, 0.1, 1.6),
  'gpt-4o-mini': row(0.15, 0.075, 0.6),
});

/** The prices of the default model, openai/gpt-5.4-nano on ShortAPI. */
export const GPT_5_4_NANO_PRICES: Required<ModelPrices> = KNOWN_PRICES['openai/gpt-5.4-nano'] as Required<ModelPrices>;

/** The known prices of `model` (the name as the provider sends it), or undefined: its price is then unknown. */
export function knownPrices(model: string): Required<ModelPrices> | undefined {
  return Object.hasOwn(KNOWN_PRICES, model) ? KNOWN_PRICES[model] : undefined;
}

/** The models `knownPrices` has a row for. */
function knownPriceModels(): readonly string[] {
  return Object.keys(KNOWN_PRICES);
}

const PRICE_KEYS = ['inputPerMillionUsd', 'cachedInputPerMillionUsd', 'outputPerMillionUsd'] as const;
const PRICE_SPEC = Object.fromEntries(PRICE_KEYS.map((key) => [key, (name: string, value: unknown) => expectNumber(name, value, { min: 0 })]));

/**
 * Checks a `pricing` option and fills in what it leaves out, key by key: from `base` (the
 * prices it overrides) when there is one; else input and output are required and the cached
 * price defaults to the input price. Throws a `ShoalConfigError` that names the missing price.
 */
export function resolvePrices(where: string, pricing: unknown, base: Required<ModelPrices> | undefined, model: string): Required<ModelPrices> {
  // A typo inside names the option: "Unknown option `inputPerMillion` in openAICompatible({ pricing })".
  const given = checkOptions<Partial<ModelPrices>>(where.endsWith('()') ? `${where.slice(0, -2)}({ pricing })` : where, pricing, PRICE_SPEC, 'pricing');
  const missing = base ? [] : (['inputPerMillionUsd', 'outputPerMillionUsd'] as const).filter((key) => given[key] === undefined);
  if (missing.length > 0) {
    throw new ShoalConfigError(
      `${where}: \`pricing\` lacks ${missing.map((k) => `\`${k}\``).join(' and ')}, and the model ${JSON.stringify(model)} has no known price to fill it from. ` +
        'Give both, e.g. { inputPerMillionUsd: 0.1, outputPerMillionUsd: 0.4 } (USD per million tokens; `cachedInputPerMillionUsd` defaults to the input price).',
    );
  }
  // Key by key over the base; without one, the cached price defaults to the input price.
  const input = (given.inputPerMillionUsd ?? base?.inputPerMillionUsd) as number;
  return {
    inputPerMillionUsd: input,
    cachedInputPerMillionUsd: given.cachedInputPerMillionUsd ?? base?.cachedInputPerMillionUsd ?? input,
    outputPerMillionUsd: (given.outputPerMillionUsd ?? base?.outputPerMillionUsd) as number,
  };
}

/** What a provider factory states: its `pricing` option over the table's row for `model`; undefined when neither knows. */
export function providerPrices(where: string, pricing: unknown, model: string): Required<ModelPrices> | undefined {
  const known = knownPrices(model);
  return pricing === undefined ? known : resolvePrices(where, pricing, known, model);
}

/** "`where` needs the model's prices ...": a budget on a model of unknown price, refused before anything is sent. */
export function unpricedBudgetError(where: string, model: string): ShoalConfigError {
  return new ShoalConfigError(
    `${where} needs the model's prices, and ${JSON.stringify(model)} has none known: a budget kept by unknown prices would not be kept. ` +
      `Pass \`pricing: { inputPerMillionUsd, outputPerMillionUsd }\` to the provider (or to createExecutor). Models with known prices: ${knownPriceModels().join(', ')}.`,
  );
}

/**
 * Refuses a budget (an agent's, a run's, a ready-made agent's, a producer's on a bullmq
 * worker) on an executor whose model has no known price: its calls would book nothing, and
 * the budget would never stop them. `budget` is the budget as the caller holds it (an amount,
 * an id); undefined for none.
 */
export function refuseUnpricedBudget(executor: Pick<Executor, 'metrics' | 'provider'>, budget: unknown, where: string): void {
  if (budget !== undefined && isUnpriced(executor)) throw unpricedBudgetError(where, executor.provider.model);
}

/** Whether an executor's model has no known price: asked once per executor (an executor's prices never change, and `metrics()` is not free). */
const unpricedExecutors = new WeakMap<object, boolean>();
function isUnpriced(executor: Pick<Executor, 'metrics'>): boolean {
  let unpriced = unpricedExecutors.get(executor);
  if (unpriced === undefined) unpricedExecutors.set(executor, (unpriced = executor.metrics().prices === 'unknown'));
  return unpriced;
}
