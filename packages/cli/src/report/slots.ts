import { LevelSeries } from './buckets.js';

/** A call's time in one of the executor's slots, from its start to its end. */
export interface SlotSpan {
  readonly lane: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Calls running over time, in all and per lane, once the record is read: a call that joined
 * an identical call's job was started but took no slot, and only its end line (`dedup`) says
 * so. (Identical calls that shared one cache lookup all end `cached`, and the record does not
 * say which of them held the slot: each counts.) At the same time, a slot is freed before
 * the next call takes it, as the executor does.
 */
export function slotLevels(spans: readonly SlotSpan[], lanes: number): { readonly total: LevelSeries; readonly byLane: readonly LevelSeries[] } {
  const changes: { t: number; delta: 1 | -1; lane: number }[] = [];
  for (const span of spans) changes.push({ t: span.from, delta: 1, lane: span.lane }, { t: span.to, delta: -1, lane: span.lane });
  changes.sort((a, b) => a.t - b.t || a.delta - b.delta);
  const total = new LevelSeries();
  const byLane = Array.from({ length: lanes }, () => new LevelSeries());
  for (const change of changes) {
    total.change(change.t, change.delta);
    byLane[change.lane]!.change(change.t, change.delta);
  }
  return { total, byLane };
}
