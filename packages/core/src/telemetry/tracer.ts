import type { EventEmitter } from 'eventemitter3';
import { nanoid } from 'nanoid';
import { ShoalError } from '../errors.js';
import { reportListenerError } from '../util/listener-error.js';
import type { Span, SpanKind, SpanListenerErrorEvent, SpanStatus, Telemetry, TraceEvents } from './telemetry.js';

const epoch = () => performance.timeOrigin + performance.now();

/**
 * Makes spans and tells each backend, in order, as they start, gain attributes and end.
 * Every report is contained: a backend that throws (or rejects) cannot break the run that
 * made the span, nor keep the backends after it from hearing of the span. Its error goes to
 * `listener-error` on `events`, or is thrown again on its own: never swallowed.
 */
export class Tracer {
  readonly #backends: readonly Telemetry[];
  readonly #events: EventEmitter<TraceEvents> | undefined;

  constructor(backends: readonly Telemetry[], events?: EventEmitter<TraceEvents>) {
    this.#backends = backends;
    this.#events = events;
  }

  start(kind: SpanKind, name: string, parentId: string | undefined, attributes: Record<string, unknown> = {}): Span {
    const span: Span = { id: nanoid(12), parentId, kind, name, startedAt: epoch(), endedAt: undefined, status: 'running', attributes };
    for (const backend of this.#backends) this.#contain('span-start', () => backend.spanStart(span));
    return span;
  }

  /** Adds attributes to a running span (an ended span no longer changes). */
  set(span: Span, attributes: Record<string, unknown>): void {
    if (span.status !== 'running') return;
    Object.assign(span.attributes, attributes);
    for (const backend of this.#backends) if (backend.spanAttributes) this.#contain('span-attributes', () => backend.spanAttributes!(span, attributes));
  }

  /** Ends a span once: later calls for the same span do nothing. */
  end(span: Span, status: Exclude<SpanStatus, 'running'>, attributes: Record<string, unknown> = {}): void {
    if (span.status !== 'running') return;
    span.endedAt = epoch();
    span.status = status;
    Object.assign(span.attributes, attributes);
    for (const backend of this.#backends) this.#contain('span-end', () => backend.spanEnd(span));
  }

  #contain(event: SpanListenerErrorEvent['event'], report: () => unknown): void {
    try {
      const result = report();
      // Never awaited (the run does not wait for telemetry), but a rejection is not lost either.
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.#failed(event, error));
    } catch (error) {
      this.#failed(event, error);
    }
  }

  #failed(event: SpanListenerErrorEvent['event'], error: unknown): void {
    reportListenerError(this.#events, event, error);
  }
}

/** The coordinator's `span-start` / `span-end` events as a backend. */
export function spanEvents(events: EventEmitter<TraceEvents>): Telemetry {
  return {
    spanStart: (span) => events.emit('span-start', span),
    spanEnd: (span) => events.emit('span-end', span),
  };
}

/** An error as a span's `error` attribute reads it. */
export function describeError(error: unknown): string {
  return ShoalError.isInstance(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
