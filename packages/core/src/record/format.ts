/**
 * The run record: one JSON object per line (JSONL), written by `recordRun()` and read by
 * `shoal report`. The first line is the header (`ev: "run"`); then one line per call event,
 * in the order the executor emitted them; the last line, written by `close()`, holds the
 * executor's totals at that moment. Times (`t`) are milliseconds since the first event
 * recorded, on the executor's clock, to 0.1 ms (the header's `startedAt` is the wall time
 * recording started). A call is named by its `id` on every line.
 * No prompt or answer text is recorded, and never a key.
 */

/** The run record's format version, written in the header's `v`. */
export const RUN_RECORD_VERSION = 1;

/** The first line. */
export interface RunHeaderLine {
  /** Marks the header. */
  readonly ev: 'run';
  /** The format version (`RUN_RECORD_VERSION`). */
  readonly v: typeof RUN_RECORD_VERSION;
  /** Epoch milliseconds when recording started. */
  readonly startedAt: number;
  /** The provider's name (`executor.provider.name`). */
  readonly provider: string;
  /** The provider's model. */
  readonly model: string;
  /** The executor's concurrency limit when recording started. */
  readonly concurrency: number;
  /** The executor's budget in USD; `null` for none. */
  readonly budgetUsd: number | null;
  /** A label for the run, when one was given (`recordRun(..., { label })`). */
  readonly label?: string;
}

/** A call was queued. `id` names the call on its later lines (unique within the record). `agent` is its first tag: an agent's calls carry the agent's name first. */
export interface QueuedLine {
  /** Marks a queued call. */
  readonly ev: 'queued';
  /** The call's id. */
  readonly id: string;
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** The call's priority. */
  readonly priority: number;
  /** The call's first tag (an agent's calls carry the agent's name first). */
  readonly agent?: string;
  /** The call's tags, when it had any. */
  readonly tags?: readonly string[];
}
/** A call left the queue and took a slot, after `waitMs` in the queue. */
export interface StartedLine {
  /** Marks a started call. */
  readonly ev: 'started';
  /** The call's id. */
  readonly id: string;
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** Time spent in the queue. */
  readonly waitMs: number;
}
/** A model job was created for the call (`usd`: what the server charged at create, when it said). */
export interface JobLine {
  /** Marks a job created or re-attached to. */
  readonly ev: 'job';
  /** The call's id. */
  readonly id: string;
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** The server's job id. */
  readonly job: string;
  /** The call's attempt, 1-based. */
  readonly attempt: number;
  /** What the server charged at create, in USD, when it said. */
  readonly usd?: number;
  /** True when the job was not created but re-attached to (an earlier run's, or a left one). */
  readonly resumed?: true;
}
/** The call is tried again after `delayMs`; `code` is why (RATE_LIMITED for a 429). */
export interface RetryLine {
  /** Marks a retry. */
  readonly ev: 'retry';
  /** The call's id. */
  readonly id: string;
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  /** The pause before the next attempt. */
  readonly delayMs: number;
  /** The failed attempt's error code. */
  readonly code: string;
  /** The HTTP status behind it, when there was one. */
  readonly status?: number;
}
/**
 * The call was answered. `cached`: from the result cache; `dedup`: by an identical call's job. The tokens of a cached
 * or dedup call are its answer's, not charged again: the ledger counts no tokens for them, and `usd` is 0.
 */
export interface EndLine {
  /** Marks an answered call. */
  readonly ev: 'end';
  /** The call's id. */
  readonly id: string;
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** From `complete()` to the answer, queue wait included. */
  readonly ms: number;
  /** Attempts made; 0 when cached or dedup. */
  readonly attempts: number;
  /** Outbound HTTP requests the call made. */
  readonly requests: number;
  /** Input tokens. */
  readonly in: number;
  /** Input tokens served from the provider's prefix cache. */
  readonly cachedIn: number;
  /** Output tokens. */
  readonly out: number;
  /** What the call cost, in USD. */
  readonly usd: number;
  /** Answered from the result cache. */
  readonly cached?: true;
  /** Answered by an identical call's job. */
  readonly dedup?: true;
}
/** The call failed with `code` (a `ShoalErrorCode`); `message` is cut to 300 characters. */
export interface ErrorLine {
  /** Marks a failed call. */
  readonly ev: 'error';
  /** The call's id. */
  readonly id: string;
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** From `complete()` to the error, queue wait included. */
  readonly ms: number;
  /** Attempts made. */
  readonly attempts: number;
  /** The error's code. */
  readonly code: string;
  /** The HTTP status behind it, when there was one. */
  readonly status?: number;
  /** The error's message, cut to 300 characters. */
  readonly message: string;
}
/** The executor changed its effective concurrency. */
export interface ConcurrencyLine {
  /** Marks a concurrency change. */
  readonly ev: 'concurrency';
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** The effective concurrency before. */
  readonly from: number;
  /** The effective concurrency after. */
  readonly to: number;
  /** `rate-limited` or `recovered`. */
  readonly reason: string;
}
/** The budget ran out; `rejected` queued calls were refused. */
export interface BudgetLine {
  /** Marks the budget running out. */
  readonly ev: 'budget';
  /** Milliseconds since the first event recorded. */
  readonly t: number;
  /** The executor's budget, in USD. */
  readonly budgetUsd: number;
  /** What had been spent, in USD. */
  readonly spentUsd: number;
  /** Queued calls refused. */
  readonly rejected: number;
}
/** The last line: the executor's own totals when the recorder was closed. */
export interface TotalsLine {
  /** Marks the totals line. */
  readonly ev: 'totals';
  /** The time of the last event recorded before it. */
  readonly t: number;
  /** Calls answered (`metrics().done`). */
  readonly done: number;
  /** Calls failed. */
  readonly failed: number;
  /** Calls answered from the cache. */
  readonly cached: number;
  /** Calls answered by an identical call's job. */
  readonly deduplicated: number;
  /** Attempts retried. */
  readonly retries: number;
  /** Jobs created. */
  readonly jobs: number;
  /** Answers of 429. */
  readonly rateLimited: number;
  /** Input tokens in all. */
  readonly inputTokens: number;
  /** Input tokens served from the provider's prefix cache. */
  readonly cachedInputTokens: number;
  /** Output tokens in all. */
  readonly outputTokens: number;
  /** What the executor spent, in USD. */
  readonly costUsd: number;
  /** Jobs whose cost is unknown (a model without a known price, no charge reported): `costUsd` leaves them out. Absent in records before it. */
  readonly unpricedCalls?: number;
}

/** Any line of a run record, told apart by `ev`. */
export type RunRecordLine = RunHeaderLine | QueuedLine | StartedLine | JobLine | RetryLine | EndLine | ErrorLine | ConcurrencyLine | BudgetLine | TotalsLine;
