import type { CompletionRequest, CompletionResult } from '@shoal/core';

/** Bumped when producers and workers would misread each other's jobs (2: a call may carry a budget, which a worker of 1 would not honour). */
export const PROTOCOL_VERSION = 2;

/** What a producer puts in a BullMQ job. */
export interface CallJobData {
  readonly v: number;
  readonly request: CompletionRequest;
  readonly tags?: readonly string[];
  /** shoal's priority, kept for the worker's own queue (BullMQ's is mapped from it). */
  readonly priority: number;
  /** The producer's id for the call that queued the job: a result with another id went to a call that joined it. */
  readonly callId: string;
  /** The call's cache option, honoured by the worker's executor. */
  readonly cache?: boolean | 'refresh';
  /** The id of the producer's budget in Redis (shared-budget.ts): the worker spends the call's charges from it. */
  readonly budget?: string;
}

/** What a worker returns: a CompletionResult as JSON (`jobId` and `model` null when absent). */
export type CallJobResult = Omit<CompletionResult, 'jobId' | 'model'> & {
  readonly jobId: string | null;
  readonly model: string | null;
  readonly callId: string;
};

/** The highest BullMQ priority number (the lowest priority): BullMQ takes 1 (first) to 2^21 - 1. */
const MAX_BULL_PRIORITY = 2 ** 21 - 1;
const MIDDLE = 2 ** 20;

/**
 * shoal's priority (higher first, any finite number, 0 by default) as BullMQ's (lower
 * first, an integer from 1): 0 maps to the middle of BullMQ's range, each step up one
 * place ahead. Priorities beyond ±(2^20 - 1) share the ends; fractions are rounded.
 */
export function bullPriority(priority: number): number {
  return Math.min(MAX_BULL_PRIORITY, Math.max(1, MIDDLE - Math.round(priority)));
}

/** The Redis hash where workers count, for the whole queue, the jobs they re-attached to and re-created. */
export function statsKey(queue: string): string {
  return `shoal:${queue}:stats`;
}

/** The Redis hash of the workers' shared limit (a bucket, a Retry-After pause, the learnt rate). */
export function limitKey(queue: string): string {
  return `shoal:${queue}:limit`;
}
