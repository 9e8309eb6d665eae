import { randomBytes } from 'node:crypto';
import type { CompletionRequest, CompletionResult } from '@shoal/core';

/**
 * Bumped when producers and workers would misread each other's jobs (2: a call may carry a
 * budget, which a worker of 1 would not honour; 3: producers read the result cache, workers
 * no longer do, and a call's journal entry is in its job).
 */
export const PROTOCOL_VERSION = 3;

/**
 * What a producer puts in a BullMQ job. Kept small: a waiting job's hash stays in Redis's
 * compact encoding while every value is at most 64 bytes (short prompts), so defaults are left out.
 */
export interface CallJobData {
  readonly v: number;
  readonly request: CompletionRequest;
  readonly tags?: readonly string[];
  /** shoal's priority, for the worker's own queue; left out when BullMQ's gives it back (`shoalPriority`). */
  readonly priority?: number;
  /** The producer's token for the call that queued the job (`randomId(6)`, 8 characters): a result with another went to a call that joined it. */
  readonly callId: string;
  /** The call's cache option: `false` keeps the worker from caching its result (the producer read the cache, or did not). */
  readonly cache?: boolean | 'refresh';
  /** The id of the producer's budget in Redis (shared-budget.ts): the worker spends the call's charges from it. */
  readonly budget?: string;
  /**
   * A journal entry a failed job of the same request left open (`{ k, j }`: a create that may
   * have made a job), read by the producer when it queued the call: the worker re-attaches to
   * that job, or sends the create again under its idempotency key and counts it.
   */
  readonly left?: string;
}

/** What a worker returns: a CompletionResult as JSON (`jobId` and `model` null when absent). */
export type CallJobResult = Omit<CompletionResult, 'jobId' | 'model'> & {
  readonly jobId: string | null;
  readonly model: string | null;
  readonly callId: string;
};

/**
 * A job's id from the request's key (a base64url SHA-256): its first 96 bits, 16 characters,
 * the same for identical requests everywhere. (A copy, not a slice that would keep the key.)
 */
export function jobIdFor(requestKey: string): string {
  return Buffer.from(requestKey, 'base64url').toString('base64url', 0, 12);
}

/** How long a finished job (and its result) stays in the queue, unless a producer says otherwise. */
export const KEEP_RESULTS_SECONDS = 3600;

let pool = Buffer.alloc(0);
let used = 0;
/** A random id of `bytes` bytes in base64url, from a pool refilled 6 KB at a time (a flat string: nothing else kept). */
export function randomId(bytes: number): string {
  if (used + bytes > pool.length) {
    pool = randomBytes(6 * 1024);
    used = 0;
  }
  used += bytes;
  return pool.toString('base64url', used - bytes, used);
}

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

/** shoal's priority back from BullMQ's, exact for whole priorities within ±(2^20 - 1) (the producer sends the others). */
export function shoalPriority(bull: number | undefined): number {
  return bull ? MIDDLE - bull : 0;
}

/** Whether `shoalPriority(bullPriority(priority))` gives `priority` back. */
export function bullKeepsPriority(priority: number): boolean {
  return Number.isInteger(priority) && Math.abs(priority) < MIDDLE;
}

/** The request a job is for: its id without the suffix of a call with a job of its own (`cache: false`, `'refresh'`). */
export function requestIdOf(jobId: string): string {
  const dot = jobId.indexOf('.');
  return dot === -1 ? jobId : jobId.slice(0, dot);
}

/** Where a failed job's open journal entry waits for the next job of its request (job-journal.ts). */
export function leftEntryKey(queue: string, jobId: string): string {
  return `shoal:${queue}:journal:${requestIdOf(jobId)}`;
}

/** The Redis hash where workers count, for the whole queue, the jobs they re-attached to and re-created. */
export function statsKey(queue: string): string {
  return `shoal:${queue}:stats`;
}

/** The Redis hash of the workers' shared limit (a bucket, a Retry-After pause, the learnt rate). */
export function limitKey(queue: string): string {
  return `shoal:${queue}:limit`;
}
