/**
 * The telemetry seam: where a run's spans go. A run is a tree of spans (run → step → agent
 * call → model job → poll), each with an id, its parent's id, timings and attributes.
 * shoal makes the spans; a backend only hears about them. The in-memory `Trace` is the
 * default backend (every run result carries one); an OpenTelemetry exporter or a run record
 * for a report implements the same interface.
 */

/** What a span stands for. `poll` is one status request of a model job. */
export type SpanKind = 'run' | 'step' | 'agent-call' | 'model-job' | 'poll';
/** A span's status: `running` until it ends, then how it ended. */
export type SpanStatus = 'running' | 'ok' | 'error' | 'skipped';

/** One span of a run's trace: a run, a step, an agent call, a model job or a poll. */
export interface Span {
  /** Unique within the process; a child's `parentId` names a span that started before it. */
  readonly id: string;
  /** Undefined for a run (the root of its tree). */
  readonly parentId: string | undefined;
  /** What it stands for. */
  readonly kind: SpanKind;
  /** Its name: `run`, `plan` or `flow` for a run; the step's id (`plan` for planning); the agent's name; the job's id; `poll <n>`. */
  readonly name: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** Set once, when the span ends. */
  endedAt: number | undefined;
  /** `running` until the span ends, then never changes again. */
  status: SpanStatus;
  /** Grows while the span runs (see `Telemetry.spanAttributes`) and at its end. */
  readonly attributes: Record<string, unknown>;
}

/**
 * A telemetry backend. shoal calls it synchronously as spans start, gain attributes and
 * end, and never waits for it: a run goes no slower for a slow backend, so a backend that
 * sends spans elsewhere (another process, a collector) queues them and sends in the
 * background, and its own flush or shutdown is for its owner to call.
 *
 * The span passed is shoal's live record: its `attributes`, `status` and `endedAt` change
 * after the call returns. A backend that reads a span later copies what it needs now.
 *
 * A method that throws, or returns a promise that rejects, does not break the run: the
 * error goes to the coordinator's `listener-error` listeners, or, when there are none, is
 * thrown again on its own (an uncaught exception). It is never swallowed.
 */
export interface Telemetry {
  /** A span started. Its parent, if any, was started before and has not ended. */
  spanStart(span: Readonly<Span>): void;
  /** Attributes were added to a running span (already merged into `span.attributes`). */
  spanAttributes?(span: Readonly<Span>, attributes: Readonly<Record<string, unknown>>): void;
  /** A span ended: `status` and `endedAt` are set, and the attributes given at its end merged in. Called once per span. */
  spanEnd(span: Readonly<Span>): void;
}

/** A span listener, or a telemetry backend, threw while told about a span. */
export interface SpanListenerErrorEvent {
  /** What it was told: `span-start`, `span-attributes` or `span-end`. */
  readonly event: 'span-start' | 'span-attributes' | 'span-end';
  /** What was thrown. */
  readonly error: unknown;
}

/** The coordinator's events (`coordinator.events`), by name. */
export interface TraceEvents {
  /** A span started. */
  'span-start': (span: Readonly<Span>) => void;
  /** A span ended. */
  'span-end': (span: Readonly<Span>) => void;
  /** A `span-start` / `span-end` listener or the telemetry backend threw. Without a listener here, the error is thrown again as an uncaught exception. */
  'listener-error': (event: SpanListenerErrorEvent) => void;
}
