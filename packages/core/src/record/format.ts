/**
 * The run record: one JSON object per line (JSONL), written by `recordRun()` and read by
 * `shoal report`. The first line is the header (`ev: "run"`); then one line per call event,
 * in the order the executor emitted them; the last line, written by `close()`, holds the
 * executor's totals at that moment. Times (`t`) are milliseconds since the first event
 * recorded, on the executor's clock, to 0.1 ms (the header's `startedAt` is the wall time
 * recording started). A call is named by its `id` on every line.
 * No prompt or answer text is recorded, and never a key.
 */

export const RUN_RECORD_VERSION = 1;

/** The first line. */
export interface RunHeaderLine {
  readonly ev: 'run';
  readonly v: typeof RUN_RECORD_VERSION;
  /** Epoch milliseconds when recording started. */
  readonly startedAt: number;
  readonly provider: string;
  readonly model: string;
  /** The executor's concurrency limit when recording started. */
  readonly concurrency: number;
  readonly budgetUsd: number | null;
  /** A label for the run, when one was given (`recordRun(..., { label })`). */
  readonly label?: string;
}

/** A call was queued. `id` names the call on its later lines (unique within the record). `agent` is its first tag: an agent's calls carry the agent's name first. */
export interface QueuedLine {
  readonly ev: 'queued';
  readonly id: string;
  readonly t: number;
  readonly priority: number;
  readonly agent?: string;
  readonly tags?: readonly string[];
}
/** A call left the queue and took a slot, after `waitMs` in the queue. */
export interface StartedLine {
  readonly ev: 'started';
  readonly id: string;
  readonly t: number;
  readonly waitMs: number;
}
/** A model job was created for the call (`usd`: what the server charged at create, when it said). */
export interface JobLine {
  readonly ev: 'job';
  readonly id: string;
  readonly t: number;
  readonly job: string;
  readonly attempt: number;
  readonly usd?: number;
  /** True when the job was not created but re-attached to (an earlier run's, or a left one). */
  readonly resumed?: true;
}
/** The call is tried again after `delayMs`; `code` is why (RATE_LIMITED for a 429). */
export interface RetryLine {
  readonly ev: 'retry';
  readonly id: string;
  readonly t: number;
  readonly attempt: number;
  readonly delayMs: number;
  readonly code: string;
  readonly status?: number;
}
/**
 * The call was answered. `cached`: from the result cache; `dedup`: by an identical call's job. The tokens of a cached
 * or dedup call are its answer's, not charged again: the ledger counts no tokens for them, and `usd` is 0.
 */
export interface EndLine {
  readonly ev: 'end';
  readonly id: string;
  readonly t: number;
  readonly ms: number;
  readonly attempts: number;
  readonly requests: number;
  readonly in: number;
  readonly cachedIn: number;
  readonly out: number;
  readonly usd: number;
  readonly cached?: true;
  readonly dedup?: true;
}
/** The call failed with `code` (a `ShoalErrorCode`); `message` is cut to 300 characters. */
export interface ErrorLine {
  readonly ev: 'error';
  readonly id: string;
  readonly t: number;
  readonly ms: number;
  readonly attempts: number;
  readonly code: string;
  readonly status?: number;
  readonly message: string;
}
/** The executor changed its effective concurrency. */
export interface ConcurrencyLine {
  readonly ev: 'concurrency';
  readonly t: number;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}
/** The budget ran out; `rejected` queued calls were refused. */
export interface BudgetLine {
  readonly ev: 'budget';
  readonly t: number;
  readonly budgetUsd: number;
  readonly spentUsd: number;
  readonly rejected: number;
}
/** The last line: the executor's own totals when the recorder was closed. */
export interface TotalsLine {
  readonly ev: 'totals';
  readonly t: number;
  readonly done: number;
  readonly failed: number;
  readonly cached: number;
  readonly deduplicated: number;
  readonly retries: number;
  readonly jobs: number;
  readonly rateLimited: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

export type RunRecordLine = RunHeaderLine | QueuedLine | StartedLine | JobLine | RetryLine | EndLine | ErrorLine | ConcurrencyLine | BudgetLine | TotalsLine;
