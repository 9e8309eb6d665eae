import { EventEmitter } from 'eventemitter3';
import { nanoid } from 'nanoid';

/**
 * A run's trace: a tree of spans (run → step → agent call → model job), each with an id
 * and its parent's id, timings and attributes. The same spans are emitted as they start
 * and end, and `toJSON()` exports the whole tree.
 */
export type SpanKind = 'run' | 'step' | 'agent-call' | 'model-job';
export type SpanStatus = 'running' | 'ok' | 'error' | 'skipped';

export interface Span {
  readonly id: string;
  readonly parentId: string | undefined;
  readonly kind: SpanKind;
  readonly name: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  endedAt: number | undefined;
  status: SpanStatus;
  readonly attributes: Record<string, unknown>;
}

export interface TraceEvents {
  'span-start': (span: Readonly<Span>) => void;
  'span-end': (span: Readonly<Span>) => void;
}

const epoch = () => performance.timeOrigin + performance.now();

export class Trace {
  readonly spans: Span[] = [];
  readonly #events: EventEmitter<TraceEvents> | undefined;

  constructor(events?: EventEmitter<TraceEvents>) {
    this.#events = events;
  }

  start(kind: SpanKind, name: string, parentId: string | undefined, attributes: Record<string, unknown> = {}): Span {
    const span: Span = { id: nanoid(12), parentId, kind, name, startedAt: epoch(), endedAt: undefined, status: 'running', attributes };
    this.spans.push(span);
    this.#events?.emit('span-start', span);
    return span;
  }

  end(span: Span, status: Exclude<SpanStatus, 'running'>, attributes: Record<string, unknown> = {}): void {
    if (span.status !== 'running') return;
    span.endedAt = epoch();
    span.status = status;
    Object.assign(span.attributes, attributes);
    this.#events?.emit('span-end', span);
  }

  children(id: string): Span[] {
    return this.spans.filter((s) => s.parentId === id);
  }

  /** The spans as plain JSON, in start order. */
  toJSON(): { spans: Span[] } {
    return { spans: this.spans.map((s) => ({ ...s, attributes: { ...s.attributes } })) };
  }
}
