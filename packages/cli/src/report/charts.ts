import type { ConcurrencyLine } from '@shoal/core';
import { bucketWidth, type CountSeries, type LevelSeries } from './buckets.js';
import type { CallState, LaneState } from './call-state.js';
import { summarizeLatency } from './latency.js';
import { type SlotSpan, slotLevels } from './slots.js';
import { type CallSpan, callTimeline } from './timeline.js';
import type { ChartData, Lane, Timeline } from './types.js';

/** Calls drawn one by one on the timeline up to this many; past it, counts per lane and time bucket keep the page light. */
const TIMELINE_CALLS_MAX = 5000;
/** Time buckets of the charts, at most; of the retries' bar chart, at most. */
const BUCKETS = 400;
const RETRY_BUCKETS = 80;

/** What the reading of a record left, for the charts. */
export interface ChartInput {
  readonly durationMs: number;
  readonly concurrencyAtStart: number;
  readonly calls: ReadonlyMap<string, CallState>;
  readonly lanes: ReadonlyMap<number | undefined, LaneState>;
  readonly queued: LevelSeries;
  readonly retries: ReadonlyMap<string, CountSeries>;
  readonly retryCodes: ReadonlyMap<string, number>;
  readonly concurrency: readonly ConcurrencyLine[];
  /** End lines' `ms` (sorted in place). */
  readonly latency: number[];
}

/** The data the page's script draws, every series on one bucket width. */
export function buildCharts(input: ChartInput): ChartData {
  const { durationMs, calls } = input;
  // Higher priorities run first: their lane is drawn on top; calls whose priority is unknown go last.
  const lanes = [...input.lanes.values()].sort((a, b) => (b.priority ?? Number.NEGATIVE_INFINITY) - (a.priority ?? Number.NEGATIVE_INFINITY));
  const index = new Map(lanes.map((lane, i) => [lane, i]));
  const slots: SlotSpan[] = [];
  for (const call of calls.values()) {
    // A call still running when the recorder closed holds its slot to the end of the run.
    if (call.startedAt !== undefined && !call.shared) slots.push({ lane: index.get(call.lane)!, from: call.startedAt, to: call.endedAt ?? durationMs });
  }
  const running = slotLevels(slots, lanes.length);
  // 429s first (so they keep the first colour), then by how many.
  const rank = ([code]: [string, CountSeries]) => (code === 'RATE_LIMITED' ? Number.POSITIVE_INFINITY : (input.retryCodes.get(code) ?? 0));
  const retries = [...input.retries].sort((a, b) => rank(b) - rank(a));
  const widths = [input.queued.widthMs, running.total.widthMs, ...retries.map(([, series]) => series.widthMs)];
  for (const lane of lanes) widths.push(lane.waiting.widthMs, lane.failures.widthMs);
  for (const lane of running.byLane) widths.push(lane.widthMs);
  const { widthMs, count } = bucketWidth(durationMs, BUCKETS, widths);
  const retryBuckets = bucketWidth(durationMs, RETRY_BUCKETS, [widthMs]);
  const first = input.concurrency[0];
  const concurrency: [number, number][] = [[0, first ? first.from : input.concurrencyAtStart]];
  for (const change of input.concurrency) concurrency.push([change.t, change.to]);
  const timeline: Timeline =
    calls.size > TIMELINE_CALLS_MAX
      ? {
          mode: 'buckets',
          waiting: lanes.map((lane) => lane.waiting.resample(durationMs, widthMs, count)),
          running: running.byLane.map((lane) => lane.resample(durationMs, widthMs, count)),
          failed: lanes.map((lane) => lane.failures.resample(widthMs, count)),
        }
      : timelineOfCalls(calls, index, durationMs);
  return {
    durationMs,
    bucketMs: widthMs,
    lanes: lanes.map((lane): Lane => ({ priority: lane.priority, calls: lane.calls, failed: lane.failed })),
    timeline,
    queued: input.queued.resample(durationMs, widthMs, count),
    running: running.total.resample(durationMs, widthMs, count),
    concurrency,
    retryBucketMs: retryBuckets.widthMs,
    retries: retries.map(([code, series]) => ({ code, counts: series.resample(retryBuckets.widthMs, retryBuckets.count) })),
    latency: summarizeLatency(input.latency),
  };
}

function timelineOfCalls(calls: ReadonlyMap<string, CallState>, index: ReadonlyMap<LaneState, number>, durationMs: number): Timeline {
  const spans: CallSpan[] = [];
  for (const call of calls.values()) {
    // A call still running when the recorder closed is drawn to the end of the run.
    const e = call.endedAt ?? durationMs;
    const s = call.startedAt ?? e;
    spans.push({ lane: index.get(call.lane)!, q: call.queuedAt ?? s, s, e, failed: call.phase === 'failed' });
  }
  return callTimeline(spans, index.size);
}
