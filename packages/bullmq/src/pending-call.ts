import { AbortError, type CallOptions, type CompletionRequest, type CompletionResult, ShoalError, TimeoutError } from '@shoal/core';
import type { JobWaiter } from './job-results.js';
import type { CallJobResult } from './protocol.js';

/** What the producer does when a call ends (books it, tells its listeners), before it settles the call. */
export interface CallOwner {
  finished(call: PendingCall, result: CallJobResult): void;
  failed(call: PendingCall, error: unknown): void;
  /** Its job left Redis unread: queue it again. */
  gone(call: PendingCall): void;
}

/**
 * One call of a producer waiting for its job: a plain record with its caller's settle
 * functions, so that a million waiting calls cost little (no async frame or promise chain
 * each). It ends once: with its job's result or failure, at its deadline, when its signal
 * aborts (the job runs on, on the workers), or at a shutdown.
 */
export class PendingCall implements JobWaiter {
  #ended = false;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    readonly owner: CallOwner,
    readonly request: CompletionRequest,
    /** Its BullMQ job's id. */
    readonly jobId: string,
    readonly callId: string,
    /** What the call's job carries (`callId` in its data): a result with another went to a call that joined it. */
    readonly token: string,
    readonly started: number,
    readonly priority: number,
    readonly options: CallOptions | undefined,
    readonly resolve: (result: CompletionResult) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /** Ends the call as failed at its deadline, or when its signal aborts. */
  watch(timeoutMs: number | undefined): void {
    const signal = this.options?.signal;
    if (signal) {
      this.#onAbort = () => this.failed(aborted(signal));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(
        () => this.failed(new TimeoutError(`The call timed out after ${timeoutMs} ms; if it was queued, it runs on in the queue.`)),
        timeoutMs,
      );
    }
  }

  done(result: CallJobResult): void {
    if (this.#end()) this.owner.finished(this, result);
  }

  failed(error: unknown): void {
    if (this.#end()) this.owner.failed(this, error);
  }

  gone(): void {
    if (!this.#ended) this.owner.gone(this);
  }

  /** A shutdown's deadline passed: the caller gets `error` now, and no event. */
  abandon(error: ShoalError): void {
    if (this.#end()) this.reject(error);
  }

  #end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    clearTimeout(this.#timer);
    if (this.#onAbort) this.options?.signal?.removeEventListener('abort', this.#onAbort);
    return true;
  }
}

export function aborted(signal: AbortSignal): ShoalError {
  const reason: unknown = signal.reason;
  if (ShoalError.isInstance(reason)) return reason;
  return new AbortError('The call was aborted. If it was queued already, it runs on in the queue: a worker may still create its job.', { cause: reason });
}
