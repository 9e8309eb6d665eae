import type { Timeline } from './types.js';

/** One call's span on the timeline: queued at `q`, started at `s` (= `e` if it never did), ended at `e`. */
export interface CallSpan {
  readonly lane: number;
  readonly q: number;
  readonly s: number;
  readonly e: number;
  readonly failed: boolean;
}

/**
 * Each call of each lane gets a row, the first whose last call ended before this one was
 * queued, so the calls of a lane never overlap on screen; a lane is as many rows high as it
 * had calls waiting or running at once.
 */
export function callTimeline(spans: readonly CallSpan[], lanes: number): Timeline {
  const order = spans.map((_, i) => i).sort((a, b) => spans[a]!.q - spans[b]!.q);
  const rowEnds: number[][] = Array.from({ length: lanes }, () => []);
  const calls: [number, number, number, number, number, number][] = [];
  for (const i of order) {
    const span = spans[i]!;
    const ends = rowEnds[span.lane]!;
    let row = ends.findIndex((end) => end <= span.q);
    if (row < 0) row = ends.push(0) - 1;
    ends[row] = span.e;
    calls.push([span.lane, row, tenth(span.q), tenth(span.s), tenth(span.e), span.failed ? 1 : 0]);
  }
  return { mode: 'calls', rows: rowEnds.map((ends) => ends.length), calls };
}

function tenth(ms: number): number {
  return Math.round(ms * 10) / 10;
}
