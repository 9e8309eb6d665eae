import type { Executor } from '../executor/executor.js';
import type { Span } from './telemetry.js';
import { describeError, type Tracer } from './tracer.js';

/** A watched agent call: its span, the tracer its model-job spans go to, and what to count. */
export interface WatchedCall {
  /** The agent call's own span: marked `cached` when one of its model calls is answered from the result cache. */
  readonly span: Span;
  readonly tracer: Tracer;
  /** A model job was created for the call. */
  readonly onJob: () => void;
  /** The executor retries one of the call's jobs. */
  readonly onRetry: () => void;
}

interface Watched {
  readonly call: WatchedCall;
  /** Each call's open model-job span. */
  readonly jobs: Map<string, Span>;
  /** Each call's wait in the executor's queue (from its `call-start`), on each of its jobs' spans. */
  readonly queuedMs: Map<string, number>;
}

/**
 * The span bridge: executor events of a watched agent call become model-job spans under
 * its span (job id, attempts, queue wait, polls, tokens, USD, timings). The executor knows
 * the caller's span only by the `spanId` it was given; calls of unwatched spans are ignored.
 */
export class JobSpans {
  readonly #watched = new Map<string, Watched>();
  readonly #detach: (() => void)[] = [];

  constructor(executor: Executor) {
    const events = executor.events;
    const on = <E extends 'call-start' | 'call-cached' | 'job-created' | 'job-poll' | 'call-retry' | 'call-end' | 'call-error'>(
      name: E,
      listener: Parameters<typeof events.on<E>>[1],
    ) => {
      events.on(name, listener);
      this.#detach.push(() => events.off(name, listener));
    };
    on('call-start', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      watched?.queuedMs.set(e.callId, e.queuedMs);
    });
    on('call-cached', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (watched) watched.call.tracer.set(watched.call.span, { cached: true });
    });
    on('job-created', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      const previous = watched.jobs.get(e.callId);
      if (previous) watched.call.tracer.end(previous, 'error', { error: 'replaced by a new job' });
      watched.call.onJob();
      const queuedMs = watched.queuedMs.get(e.callId);
      watched.jobs.set(
        e.callId,
        watched.call.tracer.start('model-job', e.jobId, e.spanId, {
          jobId: e.jobId,
          attempt: e.attempt,
          callId: e.callId,
          ...(queuedMs === undefined ? {} : { queuedMs }),
        }),
      );
    });
    on('job-poll', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      const job = watched?.jobs.get(e.callId);
      if (!watched || !job) return;
      // A poll is over when it is reported: its span is opened and closed at once, with its own timings.
      const status = e.status === undefined ? 'error' : e.status >= 200 && e.status < 300 ? 'ok' : 'error';
      const span = watched.call.tracer.start('poll', `poll ${e.poll}`, job.id, {
        jobId: e.jobId,
        poll: e.poll,
        httpStatus: e.status,
        durationMs: e.durationMs,
      });
      watched.call.tracer.end(span, status);
    });
    on('call-retry', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      watched.call.onRetry();
      this.#end(watched, e.callId, 'error', { error: describeError(e.error) });
    });
    on('call-end', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      watched.queuedMs.delete(e.callId);
      const { attempts, requests, usage, costUsd, durationMs } = e;
      this.#end(watched, e.callId, 'ok', { attempts, requests, polls: Math.max(0, requests - 1), usage, costUsd, durationMs });
    });
    on('call-error', (e) => {
      const watched = e.spanId ? this.#watched.get(e.spanId) : undefined;
      if (!watched) return;
      watched.queuedMs.delete(e.callId);
      this.#end(watched, e.callId, 'error', { error: describeError(e.error), attempts: e.attempts });
    });
  }

  /** From now until `unwatch`, the executor's calls made under `spanId` get model-job spans. */
  watch(spanId: string, call: WatchedCall): void {
    this.#watched.set(spanId, { call, jobs: new Map(), queuedMs: new Map() });
  }

  /** The agent call ended: a job span still open ends in error (its call was left). */
  unwatch(spanId: string): void {
    const watched = this.#watched.get(spanId);
    if (!watched) return;
    for (const span of watched.jobs.values()) watched.call.tracer.end(span, 'error', { error: 'the agent call ended first' });
    this.#watched.delete(spanId);
  }

  /** Detaches from the executor's events. */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
  }

  #end(watched: Watched, callId: string, status: 'ok' | 'error', attributes: Record<string, unknown>): void {
    const job = watched.jobs.get(callId);
    if (!job) return;
    watched.call.tracer.end(job, status, attributes);
    watched.jobs.delete(callId);
  }
}
