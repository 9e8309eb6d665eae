import { AgentInputError, ShoalConfigError, StructuredOutputError } from '@shoal/core';
import { loadTokenizer, refuseUnpricedBudget, type Tokenizer } from '@shoal/core/internal';
import { z } from 'zod';
import { AgentCache } from '../util/agent-cache.js';
import { CallScope } from '../util/call-scope.js';
import { type AgentCallOptions, agentRunOptions, callOptionsShape, parseOptions, type Spending, type Tally } from '../util/options.js';
import { type ListwiseAgent, listwiseAgent, type PointwiseAgent, pointwiseAgent, type SetwiseAgent, setwiseAgent } from './rank-agents.js';
import { addRepairs, type IdRepairs, NO_REPAIRS, repairOrder, repairPick } from './repair.js';
import { type Judge, pointwise, type StrategyRun, setwise, slidingWindow, tournament } from './strategies.js';

/** An item to rank: an id of your own and the text the model reads. */
export interface RankItem {
  /** Unique within one call of rank(). */
  readonly id: string;
  /** What the model reads (cut to `maxItemTokens`). */
  readonly text: string;
}

/**
 * The ranking strategies: parallel listwise windows (`tournament`), RankGPT's `sliding-window`, a knockout of small sets (`setwise`), and packed scores
 * (`pointwise`).
 */
export type RankStrategyName = 'tournament' | 'sliding-window' | 'setwise' | 'pointwise';

/** A strategy with its settings (a name alone takes the defaults). */
export type RankStrategy =
  | {
      /** Parallel listwise windows: each passes its best `topK` on, until one window holds them all. */
      readonly name: 'tournament';
      /** Items per call (more than `topK`). @default 20 */
      readonly window?: number;
    }
  | {
      /** RankGPT's sliding window, from the end of the list to its start. */
      readonly name: 'sliding-window';
      /** Items per call. @default 20 */
      readonly window?: number;
      /** How far the window moves each call (less than `window`). @default 10 */
      readonly step?: number;
    }
  | {
      /** A knockout of small sets: each call picks the best of a set. */
      readonly name: 'setwise';
      /** Items per "which is best?" call. @default 4 */
      readonly setSize?: number;
    }
  | {
      /** A score per item, several items to a call. */
      readonly name: 'pointwise';
      /** Items scored per call. @default 10 */
      readonly pack?: number;
    };

export interface RankOptions<T extends RankItem> extends AgentCallOptions {
  /** The search query the items are ranked for. */
  readonly query: string;
  /** In first-stage order (e.g. a search engine's); ids unique. */
  readonly items: readonly T[];
  /** How many of the best to return, in order. @default 10 */
  readonly topK?: number;
  /** @default { name: 'tournament', window: 20 } */
  readonly strategy?: RankStrategy | RankStrategyName;
  /** What "relevant" means, worded for the model. @default 'how well each passage answers the search query' */
  readonly relevance?: string;
  /** Each item's text is cut to this many tokens (o200k; estimated on the high side without gpt-tokenizer). @default 300 */
  readonly maxItemTokens?: number;
  /** Called after every model call. */
  readonly onProgress?: (progress: RankProgress) => void;
}

/** How far a ranking has come, told after every model call. */
export interface RankProgress {
  /** Model calls made so far. */
  readonly calls: number;
  /** What the strategy needs with well-formed answers (re-asks come on top). */
  readonly plannedCalls: number;
  /** What the ranking has spent so far, in USD. */
  readonly costUsd: number;
}

/** One item of the ranking. */
export interface RankedItem<T> {
  /** The item's id. */
  readonly id: string;
  /** 1-based. */
  readonly rank: number;
  /** The item, as given. */
  readonly item: T;
}

export interface RankResult<T> extends Spending {
  /** The best `topK` items, best first. */
  readonly ranking: readonly RankedItem<T>[];
  /** The strategy that ranked. */
  readonly strategy: RankStrategyName;
  /** The strategy's steps that had to wait for an earlier answer: the sequential depth, which sets the wall time (a re-ask, or a packed answer's missed item asked alone, adds a step inside its round). */
  readonly rounds: number;
  /** What was fixed in the model's answers: ids left out, repeated or invented. */
  readonly repairs: IdRepairs;
  /** Calls whose answer could not be read at all: their items kept the order they came in. */
  readonly fallbacks: number;
}

const strategySchema = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('tournament'), window: z.int().min(2).max(100).default(20) }),
  z.strictObject({ name: z.literal('sliding-window'), window: z.int().min(2).max(100).default(20), step: z.int().min(1).default(10) }),
  z.strictObject({ name: z.literal('setwise'), setSize: z.int().min(2).max(20).default(4) }),
  z.strictObject({ name: z.literal('pointwise'), pack: z.int().min(1).max(100).default(10) }),
]);
type ParsedStrategy = z.output<typeof strategySchema>;

const optionsSchema = z.strictObject({
  query: z.string().trim().min(1, 'Expected a non-empty query'),
  items: z.array(z.unknown()),
  topK: z.int().min(1).default(10),
  strategy: z
    .union([z.enum(['tournament', 'sliding-window', 'setwise', 'pointwise']).transform((name) => ({ name })), z.object({ name: z.string() }).loose()])
    .default({ name: 'tournament' }),
  ...callOptionsShape,
  relevance: z.string().min(1).optional(),
  maxItemTokens: z.int().min(8).default(300),
  onProgress: z.custom<(progress: RankProgress) => void>((v) => typeof v === 'function').optional(),
});

const itemsSchema = z.array(z.looseObject({ id: z.string().min(1, 'Expected a non-empty id'), text: z.string() })).superRefine((items, context) => {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.id);
    if (first !== undefined)
      context.addIssue({ code: 'custom', path: [i, 'id'], message: `Duplicate id ${JSON.stringify(item.id)} (first at index ${first}): ids must be unique` });
    else seen.set(item.id, i);
  });
});

/** Checks everything rank() is given, before any call. */
function parseRankOptions<T extends RankItem>(options: RankOptions<T>) {
  const parsed = parseOptions('rank()', optionsSchema, options);
  const strategy: ParsedStrategy = parseOptions('rank() strategy', strategySchema, parsed.strategy);
  const items = itemsSchema.safeParse(options.items);
  if (!items.success) {
    throw new AgentInputError(
      'rank',
      items.error.issues.map((issue) => ({
        path: ['items', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
        message: issue.message,
        code: issue.code,
      })),
    );
  }
  const topK = checkShape('rank()', strategy, options.items.length, parsed.topK);
  return { ...parsed, strategy, topK };
}

/** The checks on a strategy's shape shared by rank() and rankingPlan(); returns topK clamped to the items. */
function checkShape(where: string, strategy: ParsedStrategy, items: number, wantedTopK: number): number {
  if (strategy.name === 'sliding-window' && strategy.step >= strategy.window) {
    throw new ShoalConfigError(
      `${where}: the sliding window's step (${strategy.step}) must be smaller than its window (${strategy.window}), so that each window carries items to the next.`,
    );
  }
  const topK = Math.min(wantedTopK, items);
  if (strategy.name === 'tournament' && items > strategy.window && strategy.window <= topK) {
    throw new ShoalConfigError(
      `${where}: a tournament window of ${strategy.window} cannot narrow the pool to topK = ${topK}: use a window larger than topK (e.g. ${Math.max(20, 2 * topK)}) or the sliding-window strategy.`,
    );
  }
  return topK;
}

const planSchema = z.strictObject({
  items: z.int().min(0),
  topK: z.int().min(1).default(10),
  strategy: optionsSchema.shape.strategy,
});

/**
 * What a ranking will cost in model calls and rounds, with well-formed answers (re-asks
 * come on top). Exact for the sliding window, the tournament and pointwise; for setwise
 * it assumes the worst case for byes and is an upper bound.
 */
export function rankingPlan(options: { readonly items: number; readonly topK?: number; readonly strategy?: RankStrategy | RankStrategyName }): {
  /** Model calls. */
  calls: number;
  /** Rounds: calls that must wait for an earlier answer (the sequential depth). */
  rounds: number;
} {
  const parsed = parseOptions('rankingPlan()', planSchema, options);
  const strategy = parseOptions('rankingPlan() strategy', strategySchema, parsed.strategy);
  return closedForm(strategy, parsed.items, checkShape('rankingPlan()', strategy, parsed.items, parsed.topK));
}

/** The call and round counts as formulas (packages/agents/README.md states them). */
function closedForm(strategy: ParsedStrategy, n: number, topK: number): { calls: number; rounds: number } {
  if (strategy.name === 'pointwise') return { calls: Math.ceil(n / strategy.pack), rounds: n > 0 ? 1 : 0 };
  if (n <= 1) return { calls: 0, rounds: 0 };
  switch (strategy.name) {
    case 'sliding-window': {
      const kept = strategy.window - strategy.step;
      let calls = 0;
      for (let pass = 0; pass < Math.ceil(topK / kept); pass++) {
        const span = n - pass * kept;
        if (span < 2) break;
        if (span <= strategy.window) {
          calls += 1;
          break;
        }
        calls += 1 + Math.ceil((span - strategy.window) / strategy.step);
      }
      return { calls, rounds: calls };
    }
    case 'tournament': {
      let pool = n;
      let calls = 0;
      let rounds = 0;
      while (pool > strategy.window) {
        const windows = Math.ceil(pool / strategy.window);
        const last = pool - strategy.window * (windows - 1);
        calls += windows - 1 + (last > topK ? 1 : 0);
        pool = (windows - 1) * topK + Math.min(last, topK);
        rounds++;
      }
      return { calls: calls + 1, rounds: rounds + 1 };
    }
    case 'setwise': {
      const c = strategy.setSize;
      let width = n;
      let build = 0;
      let depth = 0;
      while (width > 1) {
        const sets = Math.ceil(width / c);
        const last = width - c * (sets - 1);
        build += sets - 1 + (last > 1 ? 1 : 0);
        width = sets;
        depth++;
      }
      return { calls: build + (topK - 1) * depth, rounds: depth * topK };
    }
  }
}

const agentSets = new AgentCache<{ listwise: ListwiseAgent; setwise: SetwiseAgent; pointwise: PointwiseAgent }>();
function agentsFor(relevance: string | undefined) {
  return agentSets.get(relevance ?? '', () => ({ listwise: listwiseAgent(relevance), setwise: setwiseAgent(relevance), pointwise: pointwiseAgent(relevance) }));
}

function runStrategy<T>(strategy: ParsedStrategy, items: readonly T[], topK: number, judge: Judge<T>): Promise<StrategyRun<T>> {
  switch (strategy.name) {
    case 'sliding-window':
      return slidingWindow(items, { window: strategy.window, step: strategy.step, topK }, judge);
    case 'tournament':
      return tournament(items, { window: strategy.window, topK }, judge);
    case 'setwise':
      return setwise(items, { setSize: strategy.setSize, topK }, judge);
    case 'pointwise':
      return pointwise(items, { topK }, judge);
  }
}

/**
 * Ranks `items` for `query` and returns the best `topK`, best first. Every model call goes
 * through `executor`; the answer's ids are repaired (left out, repeated, invented), so no
 * item is lost or duplicated.
 */
export async function rank<T extends RankItem>(options: RankOptions<T>): Promise<RankResult<T>> {
  const started = performance.now();
  const parsed = parseRankOptions(options);
  const { strategy, topK, query } = parsed;
  const agents = agentsFor(parsed.relevance);
  // The tokenizer is loaded only when some text could be over the limit (a token is at least one UTF-8 byte, and a UTF-16 unit is at most three).
  const tokenizer = options.items.some((item) => item.text.length > parsed.maxItemTokens / 3) ? await loadTokenizer() : undefined;
  const texts = options.items.map((item) => (tokenizer ? cutToTokens(item.text, parsed.maxItemTokens, tokenizer) : item.text));
  const indices = options.items.map((_, i) => i);
  refuseUnpricedBudget(parsed.executor, parsed.budgetUsd, 'rank({ budgetUsd })');
  const scope = new CallScope(parsed.budgetUsd, parsed.signal);
  const tally = scope.tally;
  let repairs = NO_REPAIRS;
  let fallbacks = 0;
  const plannedCalls = closedForm(strategy, options.items.length, topK).calls;
  const progress = () => options.onProgress?.({ calls: tally.calls, plannedCalls, costUsd: tally.costUsd });
  /** One agent call in the scope; an answer that cannot be read at all (after its re-ask) falls back, anything else ends the ranking. */
  const attempt = async <R extends Parameters<Tally['add']>[0]>(call: () => Promise<R>): Promise<R | undefined> => {
    try {
      return await scope.run(call);
    } catch (error) {
      if (!StructuredOutputError.isInstance(error)) throw error;
      fallbacks++;
      return undefined;
    } finally {
      progress();
    }
  };
  const runOptions = () => agentRunOptions(parsed, 'rank', scope);
  const judge: Judge<number> = {
    order: async (window) => {
      const result = await attempt(() => agents.listwise.run({ query, passages: window.map((i) => texts[i]!) }, runOptions()));
      if (!result) return window.map((_, i) => i);
      const repaired = repairOrder(result.output.order, window.length);
      repairs = addRepairs(repairs, repaired.repairs);
      return repaired.order;
    },
    best: async (set) => {
      const result = await attempt(() => agents.setwise.run({ query, passages: set.map((i) => texts[i]!) }, runOptions()));
      if (!result) return 0;
      const repaired = repairPick(result.output.best, set.length);
      repairs = addRepairs(repairs, repaired.repairs);
      return repaired.index;
    },
    score: async (batch) => {
      if (strategy.name !== 'pointwise') throw new Error('unreachable: score() is only used by pointwise');
      // One packed call per group, each admitted by the budget on its own.
      const groups: number[][] = [];
      for (let i = 0; i < batch.length; i += strategy.pack) groups.push(batch.slice(i, i + strategy.pack));
      const scored = await Promise.all(
        groups.map(async (group) => {
          const result = await attempt(() =>
            agents.pointwise.runMany(
              group.map((i) => ({ query, passage: texts[i]! })),
              { ...runOptions(), pack: strategy.pack },
            ),
          );
          return result!.items.map((item) => {
            if (item.ok) return item.output.score;
            if (!StructuredOutputError.isInstance(item.error)) throw item.error;
            fallbacks++;
            return -1; // unreadable: below every scored item, first-stage order among its like
          });
        }),
      );
      return scored.flat();
    },
  };
  const run = await scope.guard(() => runStrategy(strategy, indices, topK, judge));
  return {
    ranking: run.top.map((index, i) => ({ id: options.items[index]!.id, rank: i + 1, item: options.items[index]! })),
    strategy: strategy.name,
    calls: tally.calls,
    rounds: run.rounds,
    usage: tally.usage(),
    costUsd: tally.costUsd,
    durationMs: performance.now() - started,
    repairs,
    fallbacks,
  };
}

/** Cuts `text` to at most `maxTokens` tokens, never inside a character (a text of no more UTF-8 bytes than that is short enough as it is, counted or estimated). */
function cutToTokens(text: string, maxTokens: number, tokenizer: Tokenizer): string {
  return Buffer.byteLength(text) <= maxTokens ? text : tokenizer.cut(text, maxTokens);
}
