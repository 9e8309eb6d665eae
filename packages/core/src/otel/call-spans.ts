import { type Attributes, type Context, context, type Span as OtelSpan, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { ShoalError } from '../errors.js';
import type { ExecutorEvents } from '../executor/events.js';
import type { Executor } from '../executor/types.js';
import { ERROR_TYPE, epochMs, HTTP_STATUS, type ModelFacts, modelAttributes, modelSpanName, OTHER_ERROR, SHOAL } from './semconv.js';
import { writeUsage } from './span-attributes.js';

/** An executor call being traced: where its spans go, and what each of its job spans carries. */
interface Traced {
  /** The context active when `complete()` was called: the caller's span, if any, is the parent. */
  readonly parent: Context;
  readonly queuedAt: number;
  readonly attributes: Attributes;
  /** The span of its current job, and the context its polls start in. */
  job: { readonly span: OtelSpan; readonly context: Context } | undefined;
}

/**
 * Executor calls made outside a coordinator (`agent.run`, `executor.complete`) as
 * OpenTelemetry spans: one `{operation} {model}` CLIENT span per job the call created (a
 * retried job is a span of its own that ends in error, as each HTTP retry is in the HTTP
 * conventions), its polls as `poll` spans under it. A call that created no job (answered from
 * the result cache, by an identical call in flight, or failed before any create) is one span
 * of its own. Calls made under a span of a coordinator run are left to the run's spans
 * (`covered`), so no call is told twice.
 */
export class CallSpans {
  readonly #tracer: Tracer;
  readonly #facts: ModelFacts;
  readonly #name: string;
  readonly #covered: (spanId: string) => boolean;
  readonly #calls = new Map<string, Traced>();
  readonly #detach: (() => void)[] = [];

  constructor(executor: Executor, tracer: Tracer, facts: ModelFacts, covered: (spanId: string) => boolean) {
    this.#tracer = tracer;
    this.#facts = facts;
    this.#name = modelSpanName(facts);
    this.#covered = covered;
    const on = <E extends keyof ExecutorEvents>(name: E, listener: ExecutorEvents[E]) => {
      executor.events.on(name, listener as never);
      this.#detach.push(() => executor.events.off(name, listener as never));
    };
    on('call-queued', (e) => {
      if (e.spanId !== undefined && this.#covered(e.spanId)) return;
      const attributes: Attributes = { ...modelAttributes(this.#facts), [SHOAL.callId]: e.callId, [SHOAL.priority]: e.priority };
      if (e.tags) attributes[SHOAL.tags] = [...e.tags];
      // Called inside complete(): the active context is the caller's.
      this.#calls.set(e.callId, { parent: context.active(), queuedAt: epochMs(), attributes, job: undefined });
    });
    on('call-start', (e) => {
      const call = this.#calls.get(e.callId);
      if (call) call.attributes[SHOAL.queueWaitMs] = e.queuedMs;
    });
    on('job-created', (e) => this.#job(e.callId, e.jobId, e.attempt, false));
    on('job-resumed', (e) => this.#job(e.callId, e.jobId, e.attempt, true));
    on('job-poll', (e) => {
      const job = this.#calls.get(e.callId)?.job;
      if (!job) return;
      // Told once its answer is in: it began `durationMs` before.
      const now = epochMs();
      const attributes: Attributes = { [SHOAL.jobId]: e.jobId, [SHOAL.poll]: e.poll };
      if (e.status !== undefined) attributes[HTTP_STATUS] = e.status;
      const poll = this.#tracer.startSpan('poll', { kind: SpanKind.CLIENT, startTime: now - e.durationMs, attributes }, job.context);
      if (e.status === undefined || e.status >= 400) {
        const type = e.status === undefined ? OTHER_ERROR : String(e.status);
        poll.setAttribute(ERROR_TYPE, type);
        poll.setStatus({ code: SpanStatusCode.ERROR, message: e.status === undefined ? 'no answer' : `HTTP ${e.status}` });
      }
      poll.end(now);
    });
    on('call-retry', (e) => {
      const call = this.#calls.get(e.callId);
      if (!call?.job) return;
      failed(call.job.span, e.error);
      call.job.span.end(epochMs());
      call.job = undefined;
    });
    on('call-end', (e) => {
      const call = this.#calls.get(e.callId);
      if (!call) return;
      this.#calls.delete(e.callId);
      // A call that reached no model (CompletionResult: `attempts` is 0 when cached or shared) is a span of its own, for its wait.
      const span = call.job?.span ?? this.#own(call, e.attempts === 0);
      if (e.attempts === 0) span.setAttribute(e.deduplicated ? SHOAL.deduplicated : SHOAL.cached, true);
      const attributes: Attributes = { [SHOAL.attempts]: e.attempts, [SHOAL.requests]: e.requests, [SHOAL.costUsd]: e.costUsd };
      if (e.attempts > 0) writeUsage(attributes, e.usage);
      span.setAttributes(attributes);
      span.end(epochMs());
    });
    on('call-error', (e) => {
      const call = this.#calls.get(e.callId);
      if (!call) return;
      this.#calls.delete(e.callId);
      const span = call.job?.span ?? this.#own(call, false);
      span.setAttribute(SHOAL.attempts, e.attempts);
      failed(span, e.error);
      span.end(epochMs());
    });
  }

  /** Stops listening. Spans of calls still running are left unended (OpenTelemetry drops them). */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
    this.#calls.clear();
  }

  #job(callId: string, jobId: string, attempt: number, resumed: boolean): void {
    const call = this.#calls.get(callId);
    if (!call) return;
    call.job?.span.end(epochMs()); // a job replaced without a retry being told: defensive, as the run's bridge is
    const attributes: Attributes = { ...call.attributes, [SHOAL.jobId]: jobId, [SHOAL.attempt]: attempt };
    if (resumed) attributes[SHOAL.resumed] = true;
    const span = this.#tracer.startSpan(this.#name, { kind: SpanKind.CLIENT, startTime: epochMs(), attributes }, call.parent);
    call.job = { span, context: trace.setSpan(call.parent, span) };
  }

  /** The span of a call that made no job: from `complete()` on. A cache hit or a shared flight sent nothing itself, so it is not a client span. */
  #own(call: Traced, local: boolean): OtelSpan {
    return this.#tracer.startSpan(
      this.#name,
      { kind: local ? SpanKind.INTERNAL : SpanKind.CLIENT, startTime: call.queuedAt, attributes: call.attributes },
      call.parent,
    );
  }
}

function failed(span: OtelSpan, error: ShoalError): void {
  span.setAttribute(ERROR_TYPE, error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
}
