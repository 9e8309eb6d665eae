import type { CountSeries, LevelSeries } from './buckets.js';

/** Where a call is: seen only by a later event (queued before the recording began), queued, running, or settled. */
type Phase = 'seen' | 'queued' | 'running' | 'ok' | 'failed';

/** A priority lane while the record is read. */
export interface LaneState {
  readonly priority: number | undefined;
  calls: number;
  failed: number;
  /** Calls of the lane in the queue. */
  readonly waiting: LevelSeries;
  readonly failures: CountSeries;
}

/** One call while the record is read: a few numbers, kept until the end for the timeline and the slots. */
export interface CallState {
  phase: Phase;
  readonly lane: LaneState;
  readonly agent: string | undefined;
  readonly tags: readonly string[] | undefined;
  queuedAt: number | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** Answered by joining an identical call's job: it was started, but held no slot. */
  shared: boolean;
  /** What the call's jobs were charged at create, in pico-dollars: its cost if it fails. */
  jobPico: bigint;
}
