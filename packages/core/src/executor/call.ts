import { nanoid } from 'nanoid';
import type { CompletionRequest } from '../providers/types.js';
import type { ClockTimer } from '../util/clock.js';
import type { CallOptions, CompletionResult } from './types.js';

export const QUEUED = 0;
export const RUNNING = 1;
export const SETTLED = 2;

/** A waiting or running call. Kept small: a million of them may wait at once. */
export class Call {
  state = QUEUED;
  flight: Flight | undefined = undefined;
  timer: ClockTimer | undefined = undefined;
  /** Tokens reserved against tokensPerMinute and the budget, counted at dispatch (0 until then). */
  tokens = 0;
  #id: string | undefined = undefined;
  constructor(
    readonly seq: number,
    readonly priority: number,
    readonly request: CompletionRequest,
    readonly options: CallOptions | undefined,
    readonly enqueuedAt: number,
    readonly resolve: (result: CompletionResult) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  get signal(): AbortSignal | undefined {
    return this.options?.signal;
  }

  /** A nanoid, made when first needed (an event, or dispatch): waiting calls do not pay for it. */
  get id(): string {
    return (this.#id ??= nanoid());
  }
}

/** One job's worth of work, shared by every identical call that joined it. */
export interface Flight {
  readonly key: string | undefined;
  readonly calls: Set<Call>;
  /** Only when some caller can stop waiting (a signal or a timeout); else the provider gets the executor's stop signal. */
  readonly controller: AbortController | undefined;
  /** Set once the outcome is known, so that settling callers does not abort finished work. */
  done: boolean;
  /** Started by a call with `cache: 'refresh'`: skips the cache read, and only such calls join it. */
  readonly refresh: boolean;
  /** Whether the result cache is read and written for it. */
  readonly useCache: boolean;
  /** Its entry in the store's journal: the request key when cached, the call's own `JOURNAL_KEY`, or none. */
  readonly journalKey: string | undefined;
  /** The job being waited for, once created or re-attached to. */
  jobId: string | undefined;
  /** This flight's budget reservation, until its job's charge is booked. */
  reservedPico: bigint;
  /** The owner's request, and its request key once computed, for what the flight leaves behind (`LeftJobs`). */
  readonly request: CompletionRequest;
  leftKey: string | undefined;
  /** Set only when the flight is left by its callers while still running: tells LeftJobs it is over. */
  end: (() => void) | undefined;
}

/** How a flight's callers are told its outcome; undefined when they all left. */
export type Settle = (() => void) | undefined;

let capturedResolve: ((result: CompletionResult) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function capture(resolve: (result: CompletionResult) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * The promise a caller awaits, then its call: `newCall` takes the resolvers `callPromise`
 * captured. One shared executor function (no closure, no tuple per call): with a million
 * calls waiting, every allocation shows in GC time.
 */
export function callPromise(): Promise<CompletionResult> {
  return new Promise<CompletionResult>(capture);
}

export function newCall(seq: number, priority: number, request: CompletionRequest, options: CallOptions | undefined, at: number): Call {
  const call = new Call(seq, priority, request, options, at, capturedResolve!, capturedReject!);
  capturedResolve = capturedReject = undefined;
  return call;
}
