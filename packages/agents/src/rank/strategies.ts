/**
 * The ranking strategies as pure algorithms over a judge. They decide which items meet in
 * which model call; the judge (rank.ts: the agents and the executor) answers. Each counts
 * its rounds: calls that must wait for an earlier answer, i.e. the sequential depth.
 */

export interface Judge<T> {
  /** Orders a window of items, best first: a permutation of 0..items.length-1. */
  order(items: readonly T[]): Promise<number[]>;
  /** Picks the best of a small set (an index into `items`). */
  best(items: readonly T[]): Promise<number>;
  /** Scores every item on its own (higher is better), in one batch. */
  score(items: readonly T[]): Promise<number[]>;
}

export interface StrategyRun<T> {
  /** The best `topK` items, best first. */
  readonly top: T[];
  readonly rounds: number;
}

export interface SlidingWindowOptions {
  readonly window: number;
  readonly step: number;
  readonly topK: number;
}

/**
 * RankGPT's sliding window: windows of `window` items ranked back to front, each moving
 * `step` towards the head, so that the best `window - step` of each window travel with it.
 * One pass brings the best `window - step` items to the head in order; a pass per further
 * `window - step` items of `topK` (each starting after the part already settled).
 */
export async function slidingWindow<T>(items: readonly T[], options: SlidingWindowOptions, judge: Judge<T>): Promise<StrategyRun<T>> {
  const list = items.slice();
  const { window, step, topK } = options;
  let rounds = 0;
  const passes = Math.ceil(topK / (window - step));
  for (let pass = 0; pass < passes; pass++) {
    const head = pass * (window - step);
    if (list.length - head < 2) break;
    let end = list.length;
    for (;;) {
      const start = Math.max(head, end - window);
      const slice = list.slice(start, end);
      const order = await judge.order(slice);
      rounds++;
      list.splice(start, slice.length, ...order.map((i) => slice[i]!));
      if (start === head) break;
      end -= step;
    }
    // A pass that fit in one window has sorted everything after its head.
    if (list.length - head <= window) break;
  }
  return { top: list.slice(0, topK), rounds };
}

export interface TournamentOptions {
  readonly window: number;
  readonly topK: number;
}

/**
 * The parallel listwise tournament: the pool is dealt into windows that are ranked at the
 * same time; each window passes its best `topK` on (a window of `topK` or fewer passes
 * whole, without a call). Rounds repeat until one window holds the pool, whose ranking is
 * the answer. Items are dealt in turn across the windows, so the first-stage order's best
 * candidates do not all meet in one window.
 */
export async function tournament<T>(items: readonly T[], options: TournamentOptions, judge: Judge<T>): Promise<StrategyRun<T>> {
  const { window, topK } = options;
  let pool = items.slice();
  let rounds = 0;
  while (pool.length > window) {
    const groups = deal(pool, window);
    const next = await Promise.all(
      groups.map(async (group) => {
        if (group.length <= topK) return group;
        const order = await judge.order(group);
        return order.slice(0, topK).map((i) => group[i]!);
      }),
    );
    rounds++;
    // Keep the survivors in first-stage order of their windows' ranks: window winners first.
    pool = interleave(next);
  }
  if (pool.length > 1) {
    const order = await judge.order(pool);
    rounds++;
    pool = order.map((i) => pool[i]!);
  }
  return { top: pool.slice(0, topK), rounds };
}

/** Windows of `size` (the last one may be short), filled in turn: item i goes to the next window with room. */
export function deal<T>(pool: readonly T[], size: number): T[][] {
  const count = Math.ceil(pool.length / size);
  const sizes = Array.from({ length: count }, (_, g) => (g < count - 1 ? size : pool.length - size * (count - 1)));
  const groups: T[][] = sizes.map(() => []);
  let g = 0;
  for (const item of pool) {
    while (groups[g]!.length >= sizes[g]!) g = (g + 1) % count;
    groups[g]!.push(item);
    g = (g + 1) % count;
  }
  return groups;
}

function interleave<T>(lists: readonly T[][]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) for (const list of lists) if (i < list.length) out.push(list[i]!);
  return out;
}

export interface SetwiseOptions {
  /** Items per "which is best?" call. */
  readonly setSize: number;
  readonly topK: number;
}

/**
 * Setwise top-k selection: a knockout tournament of small sets. Every set of `setSize`
 * sends its best up a level (all sets of a level are judged at the same time) until one
 * item is left: the best. For the next best only the winner's path is replayed, one set
 * per level, with the winner gone.
 */
export async function setwise<T>(items: readonly T[], options: SetwiseOptions, judge: Judge<T>): Promise<StrategyRun<T>> {
  const { setSize, topK } = options;
  if (items.length === 0) return { top: [], rounds: 0 };
  // levels[0] holds the items' indices; levels[l][j] the winner of set j of level l-1 (or -1: empty).
  const levels: number[][] = [items.map((_, i) => i)];
  let rounds = 0;
  const judgeSet = async (level: number, set: number): Promise<{ winner: number; called: boolean }> => {
    const below = levels[level - 1]!;
    const candidates = below.slice(set * setSize, set * setSize + setSize).filter((i) => i >= 0);
    if (candidates.length <= 1) return { winner: candidates[0] ?? -1, called: false };
    const pick = await judge.best(candidates.map((i) => items[i]!));
    return { winner: candidates[pick]!, called: true };
  };
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const level = levels.length;
    levels.push([]);
    const results = await Promise.all(Array.from({ length: Math.ceil(below.length / setSize) }, (_, set) => judgeSet(level, set)));
    levels[level] = results.map((r) => r.winner);
    if (results.some((r) => r.called)) rounds++;
  }
  const top: T[] = [];
  const want = Math.min(topK, items.length);
  for (;;) {
    const winner = levels[levels.length - 1]![0]!;
    top.push(items[winner]!);
    if (top.length >= want) break;
    // Take the winner out and replay its path, bottom up.
    let position = winner;
    levels[0]![position] = -1;
    for (let level = 1; level < levels.length; level++) {
      position = Math.floor(position / setSize);
      const { winner: next, called } = await judgeSet(level, position);
      levels[level]![position] = next;
      if (called) rounds++;
    }
  }
  return { top, rounds };
}

export interface PointwiseOptions {
  readonly topK: number;
}

/** Every item scored on its own (in packed calls), sorted by score; ties keep the first-stage order. */
export async function pointwise<T>(items: readonly T[], options: PointwiseOptions, judge: Judge<T>): Promise<StrategyRun<T>> {
  if (items.length === 0) return { top: [], rounds: 0 };
  const scores = await judge.score(items);
  const order = items.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return { top: order.slice(0, options.topK).map((i) => items[i]!), rounds: 1 };
}
