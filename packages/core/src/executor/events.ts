import type { ShoalError } from '../errors.js';
import type { Usage } from '../providers/types.js';

/** Every executor event carries the call's id and the time it happened (ms, on the executor's clock: `performance.now()` by default). */
interface CallEventBase {
  readonly callId: string;
  readonly at: number;
  readonly tags: readonly string[] | undefined;
  /** The caller's trace span (a coordinator's agent-call span), when it gave one. */
  readonly spanId: string | undefined;
}

export interface CallQueuedEvent extends CallEventBase {
  readonly priority: number;
}
export interface CallStartEvent extends CallEventBase {
  readonly priority: number;
  /** Time spent waiting in the queue. */
  readonly queuedMs: number;
}
export interface JobCreatedEvent extends CallEventBase {
  readonly jobId: string;
  readonly attempt: number;
  /** What the server charged for the job at its create, as it wrote it (a decimal string), when it said. Booked in the ledger now. */
  readonly amountUsd: string | undefined;
}
/** A job an earlier run created (found in the store's journal) is waited for by id: no create is sent. */
export interface JobResumedEvent extends CallEventBase {
  readonly jobId: string;
  readonly attempt: number;
}
/**
 * An earlier run sent a create (or was about to) and died before its answer was journaled:
 * the create is sent again under the same idempotency key, and the server may hold a first
 * job too. `jobId` is set when the earlier job is known but the provider cannot re-attach.
 */
export interface JobRecreatedEvent extends CallEventBase {
  readonly idempotencyKey: string;
  readonly jobId: string | undefined;
}
/** One query of a job's state (a poll), once its answer (or its failure) is known. */
export interface JobPollEvent extends CallEventBase {
  readonly jobId: string;
  readonly attempt: number;
  /** 1-based, per job. */
  readonly poll: number;
  /** When the query was sent (the executor's clock). */
  readonly sentAt: number;
  readonly durationMs: number;
  /** The HTTP status; undefined when no answer came (a network failure, an abort). */
  readonly status: number | undefined;
}
export interface CallRetryEvent extends CallEventBase {
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: ShoalError;
}
export interface CallEndEvent extends CallEventBase {
  readonly jobId: string | undefined;
  readonly attempts: number;
  readonly durationMs: number;
  readonly usage: Usage;
  readonly costUsd: number;
  /** Served by joining an identical call already in flight. */
  readonly deduplicated: boolean;
  readonly requests: number;
}
export interface CallCachedEvent extends CallEventBase {
  readonly durationMs: number;
}
export interface CallErrorEvent extends CallEventBase {
  readonly error: ShoalError;
  readonly attempts: number;
  readonly durationMs: number;
}
export interface BudgetExceededEvent {
  readonly at: number;
  readonly budgetUsd: number;
  readonly spentUsd: number;
  /** Calls rejected from the queue when the budget ran out. */
  readonly rejected: number;
}
export interface ConcurrencyChangeEvent {
  readonly at: number;
  readonly from: number;
  readonly to: number;
  readonly reason: 'rate-limited' | 'recovered';
}

export interface ListenerErrorEvent {
  /** The event whose listener threw. */
  readonly event: string;
  readonly error: unknown;
}

export interface ExecutorEvents {
  'call-queued': (event: CallQueuedEvent) => void;
  'call-start': (event: CallStartEvent) => void;
  'job-created': (event: JobCreatedEvent) => void;
  'job-resumed': (event: JobResumedEvent) => void;
  'job-recreated': (event: JobRecreatedEvent) => void;
  'job-poll': (event: JobPollEvent) => void;
  'call-retry': (event: CallRetryEvent) => void;
  'call-end': (event: CallEndEvent) => void;
  'call-cached': (event: CallCachedEvent) => void;
  'call-error': (event: CallErrorEvent) => void;
  'budget-exceeded': (event: BudgetExceededEvent) => void;
  'concurrency-change': (event: ConcurrencyChangeEvent) => void;
  /** A listener of another event threw. Without a listener here, the error is thrown again as an uncaught exception. */
  'listener-error': (event: ListenerErrorEvent) => void;
}

export type ExecutorEventName = keyof ExecutorEvents;
