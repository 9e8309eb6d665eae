import type { ShoalError } from '../errors.js';
import type { Usage } from '../providers/types.js';

/** Every executor event carries the call's id and the time it happened (ms, on the executor's clock: `performance.now()` by default). */
interface CallEventBase {
  /** The call's id, unique within its executor. */
  readonly callId: string;
  /** When it happened: ms on the executor's clock (`performance.now()` by default). */
  readonly at: number;
  /** The call's `tags`, as it gave them. */
  readonly tags: readonly string[] | undefined;
  /** The caller's trace span (a coordinator's agent-call span), when it gave one. */
  readonly spanId: string | undefined;
}

/** A call entered the queue: `complete()` accepted it. */
export interface CallQueuedEvent extends CallEventBase {
  /** The call's priority. */
  readonly priority: number;
}
/** A call left the queue and took a slot: its work starts now. */
export interface CallStartEvent extends CallEventBase {
  /** The call's priority. */
  readonly priority: number;
  /** Time spent waiting in the queue. */
  readonly queuedMs: number;
}
/** The server made a job for a call (its create was answered). */
export interface JobCreatedEvent extends CallEventBase {
  /** The server's job id. */
  readonly jobId: string;
  /** The call's attempt that created it, 1-based. */
  readonly attempt: number;
  /** What the server charged for the job at its create, as it wrote it (a decimal string), when it said. Booked in the ledger now. */
  readonly amountUsd: string | undefined;
}
/** A job an earlier run created (found in the store's journal) is waited for by id: no create is sent. */
export interface JobResumedEvent extends CallEventBase {
  /** The job's id on the server. */
  readonly jobId: string;
  /** The call's attempt that waits for it, 1-based. */
  readonly attempt: number;
}
/**
 * An earlier run sent a create (or was about to) and died before its answer was journaled:
 * the create is sent again under the same idempotency key, and the server may hold a first
 * job too. `jobId` is set when the earlier job is known but the provider cannot re-attach.
 */
export interface JobRecreatedEvent extends CallEventBase {
  /** The idempotency key the create is sent again under. */
  readonly idempotencyKey: string;
  /** The earlier job, when it is known but the provider cannot re-attach to it. */
  readonly jobId: string | undefined;
}
/** One query of a job's state (a poll), once its answer (or its failure) is known. */
export interface JobPollEvent extends CallEventBase {
  /** The job queried. */
  readonly jobId: string;
  /** The call's attempt the job belongs to, 1-based. */
  readonly attempt: number;
  /** 1-based, per job. */
  readonly poll: number;
  /** When the query was sent (the executor's clock). */
  readonly sentAt: number;
  /** From sending the query to its answer (or failure). */
  readonly durationMs: number;
  /** The HTTP status; undefined when no answer came (a network failure, an abort). */
  readonly status: number | undefined;
}
/** An attempt of a call failed and the call will try again after `delayMs`. */
export interface CallRetryEvent extends CallEventBase {
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  /** The pause before the next attempt. */
  readonly delayMs: number;
  /** Why the attempt failed. */
  readonly error: ShoalError;
}
/** A call ended with an answer (from a job, or shared with an identical call in flight). A cached answer sends `call-cached` first. */
export interface CallEndEvent extends CallEventBase {
  /** The server's job id (undefined for providers without jobs). */
  readonly jobId: string | undefined;
  /** Attempts made, the first included; 0 when cached or shared. */
  readonly attempts: number;
  /** From `complete()` to the answer, queue wait included. */
  readonly durationMs: number;
  /** The answer's token usage. */
  readonly usage: Usage;
  /** What this call cost; 0 when cached or shared. */
  readonly costUsd: number;
  /** Served by joining an identical call already in flight. */
  readonly deduplicated: boolean;
  /** Outbound HTTP requests this call made (all attempts). */
  readonly requests: number;
}
/** A call was answered from the result cache (followed by its `call-end`). */
export interface CallCachedEvent extends CallEventBase {
  /** From `complete()` to the cached answer. */
  readonly durationMs: number;
}
/** A call ended with an error (it was rejected with `error`). */
export interface CallErrorEvent extends CallEventBase {
  /** The error the call was rejected with. */
  readonly error: ShoalError;
  /** Attempts made; 0 when it failed before any. */
  readonly attempts: number;
  /** From `complete()` to the error, queue wait included. */
  readonly durationMs: number;
}
/** The budget is spent: the queued calls were rejected, and the executor takes no more. Sent once. */
export interface BudgetExceededEvent {
  /** When it happened (the executor's clock, ms). */
  readonly at: number;
  /** The executor's budget, in USD. */
  readonly budgetUsd: number;
  /** What had been spent, in USD. */
  readonly spentUsd: number;
  /** Calls rejected from the queue when the budget ran out. */
  readonly rejected: number;
}
/** The adaptive concurrency moved: down on a burst of 429s, back up once they stop. */
export interface ConcurrencyChangeEvent {
  /** When it happened (the executor's clock, ms). */
  readonly at: number;
  /** The effective concurrency before. */
  readonly from: number;
  /** The effective concurrency after. */
  readonly to: number;
  /** `rate-limited` for a step down, `recovered` for a step up. */
  readonly reason: 'rate-limited' | 'recovered';
}

/** A listener threw; its error, and the event it listened to. */
export interface ListenerErrorEvent {
  /** The event whose listener threw. */
  readonly event: string;
  /** What the listener threw. */
  readonly error: unknown;
}

/** The executor's events (`executor.events`), by name, with each listener's signature. */
export interface ExecutorEvents {
  /** A call entered the queue. */
  'call-queued': (event: CallQueuedEvent) => void;
  /** A call took a slot and starts. */
  'call-start': (event: CallStartEvent) => void;
  /** The server made a job for a call. */
  'job-created': (event: JobCreatedEvent) => void;
  /** A call waits for a job by id that an earlier run (or an earlier caller) created. */
  'job-resumed': (event: JobResumedEvent) => void;
  /** A create an earlier run may have sent is sent again, under the same idempotency key. */
  'job-recreated': (event: JobRecreatedEvent) => void;
  /** One query of a job's state was answered (or failed). */
  'job-poll': (event: JobPollEvent) => void;
  /** An attempt failed; the call tries again after a pause. */
  'call-retry': (event: CallRetryEvent) => void;
  /** A call ended with an answer. */
  'call-end': (event: CallEndEvent) => void;
  /** A call was answered from the result cache. */
  'call-cached': (event: CallCachedEvent) => void;
  /** A call ended with an error. */
  'call-error': (event: CallErrorEvent) => void;
  /** The budget is spent (sent once). */
  'budget-exceeded': (event: BudgetExceededEvent) => void;
  /** The adaptive concurrency moved down or back up. */
  'concurrency-change': (event: ConcurrencyChangeEvent) => void;
  /** A listener of another event threw. Without a listener here, the error is thrown again as an uncaught exception. */
  'listener-error': (event: ListenerErrorEvent) => void;
}

/** The name of an executor event. */
export type ExecutorEventName = keyof ExecutorEvents;
