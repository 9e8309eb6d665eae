import type { LatencySummary } from './types.js';

/** Histogram buckets per factor of ten. */
const PER_DECADE = 10;
/** Durations under this (cached answers) go in the first bucket. */
const FLOOR_MS = 0.1;

/** Log-spaced histogram and nearest-rank percentiles of call durations (sorts `ms` in place). */
export function summarizeLatency(ms: number[]): LatencySummary {
  if (ms.length === 0) return { edges: [], counts: [], p50: 0, p95: 0, p99: 0, max: 0 };
  ms.sort((a, b) => a - b);
  const rank = (p: number) => ms[Math.max(0, Math.ceil((p / 100) * ms.length) - 1)]!;
  const min = Math.max(FLOOR_MS, ms[0]!);
  const max = ms[ms.length - 1]!;
  const first = Math.floor(Math.log10(min) * PER_DECADE);
  // One bucket past the largest, so the largest falls inside [edges[i], edges[i + 1]).
  const last = Math.max(first + 1, Math.floor(Math.log10(Math.max(max, FLOOR_MS)) * PER_DECADE) + 1);
  const edges: number[] = [];
  for (let k = first; k <= last; k++) edges.push(roundEdge(10 ** (k / PER_DECADE)));
  const counts = new Array<number>(last - first).fill(0);
  for (const value of ms) {
    const k = Math.floor(Math.log10(Math.max(value, FLOOR_MS)) * PER_DECADE) - first;
    counts[Math.min(counts.length - 1, Math.max(0, k))]!++;
  }
  return { edges, counts, p50: rank(50), p95: rank(95), p99: rank(99), max };
}

/** Three significant digits: 10^(k/10) printed as 1.26, 1.58, 2, 2.51, ... */
function roundEdge(value: number): number {
  return Number(value.toPrecision(3));
}
