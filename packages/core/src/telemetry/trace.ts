import type { EventEmitter } from 'eventemitter3';
import type { Span, SpanKind, SpanStatus, Telemetry, TraceEvents } from './telemetry.js';
import { spanEvents, Tracer } from './tracer.js';

/**
 * The in-memory telemetry backend, and the default one: every run keeps its spans in a
 * Trace (`RunResult.trace`). Given as the coordinator's `telemetry`, one Trace keeps the
 * spans of every run. `toJSON()` exports the tree.
 */
export class Trace implements Telemetry {
  /** In start order. */
  readonly spans: Span[] = [];
  readonly #tracer: Tracer;

  /** `events` hears of the spans this trace starts itself (`start`). */
  constructor(events?: EventEmitter<TraceEvents>) {
    this.#tracer = new Tracer(events ? [this, spanEvents(events)] : [this], events);
  }

  spanStart(span: Span): void {
    this.spans.push(span);
  }

  spanEnd(): void {
    // Nothing to copy: the span is a live record, its end and attributes already on it.
  }

  /** Starts a span of this trace's own. */
  start(kind: SpanKind, name: string, parentId: string | undefined, attributes: Record<string, unknown> = {}): Span {
    return this.#tracer.start(kind, name, parentId, attributes);
  }

  /** Ends a span of this trace with `status`, adding `attributes`. */
  end(span: Span, status: Exclude<SpanStatus, 'running'>, attributes: Record<string, unknown> = {}): void {
    this.#tracer.end(span, status, attributes);
  }

  /** The spans whose parent is `id`, in start order. */
  children(id: string): Span[] {
    return this.spans.filter((s) => s.parentId === id);
  }

  /** The spans as plain JSON, in start order. */
  toJSON(): {
    /** Copies of the spans, in start order. */
    spans: Span[];
  } {
    return { spans: this.spans.map((s) => ({ ...s, attributes: { ...s.attributes } })) };
  }
}
