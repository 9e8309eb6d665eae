import {
  type Attributes,
  type Context,
  context,
  type Span as OtelSpan,
  SpanKind as OtelSpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { plannerAgent } from '../coordinator/planner.js';
import type { Span } from '../telemetry/telemetry.js';
import { ERROR_TYPE, errorTypeOf, GEN_AI, modelAttributes, modelFacts, modelSpanName, OPERATION, OTHER_ERROR, SHOAL } from './semconv.js';
import { toOtelAttributes } from './span-attributes.js';

/** A shoal span told to OpenTelemetry and not ended yet. */
interface Open {
  readonly otel: OtelSpan;
  /** Where its children start: the context the run started in, with this span set. */
  readonly context: Context;
  readonly runId: string;
  readonly stepId: string | undefined;
  /** On an agent call: the name and attributes its model jobs take from it. */
  readonly jobs: { readonly name: string; readonly attributes: Attributes } | undefined;
}

interface Shape {
  readonly name: string;
  readonly kind: OtelSpanKind;
  readonly attributes: Attributes;
  readonly stepId: string | undefined;
  readonly jobs?: Open['jobs'];
}

/**
 * A coordinator's spans (told through the telemetry seam) as OpenTelemetry spans, named by
 * the GenAI conventions: a run is `invoke_workflow`, the planner's step `plan`, another step
 * `step {id}`, an agent call `invoke_agent {agent}`, a model job `{operation} {model}` and a
 * poll `poll`. A run's parent is the context active when it starts (the caller's own span);
 * everything under it is parented by shoal's span ids. Each span starts and ends at shoal's
 * own timings, so its duration is the one in the run's `Trace`.
 */
export class RunSpans {
  readonly #tracer: Tracer;
  readonly #content: boolean;
  readonly #open = new Map<string, Open>();

  constructor(tracer: Tracer, content: boolean) {
    this.#tracer = tracer;
    this.#content = content;
  }

  /** Whether `spanId` is a running span of one of the runs told here (an executor call made under it belongs to that run). */
  has(spanId: string): boolean {
    return this.#open.has(spanId);
  }

  start(span: Readonly<Span>): void {
    const parent = span.parentId === undefined ? undefined : this.#open.get(span.parentId);
    const parentContext = parent?.context ?? context.active();
    const runId = parent?.runId ?? span.id;
    const shape = this.#shape(span, parent);
    const attributes: Attributes = { ...shape.attributes, [SHOAL.runId]: runId, ...toOtelAttributes(span.kind, span.attributes, this.#content) };
    if (shape.stepId !== undefined) attributes[SHOAL.stepId] = shape.stepId;
    // A poll is told once its answer is in: it began `durationMs` before.
    const duration = span.kind === 'poll' ? span.attributes.durationMs : undefined;
    const startTime = typeof duration === 'number' ? span.startedAt - duration : span.startedAt;
    const otel = this.#tracer.startSpan(shape.name, { kind: shape.kind, startTime, attributes }, parentContext);
    this.#open.set(span.id, { otel, context: trace.setSpan(parentContext, otel), runId, stepId: shape.stepId, jobs: shape.jobs });
  }

  attributes(span: Readonly<Span>, attributes: Readonly<Record<string, unknown>>): void {
    this.#open.get(span.id)?.otel.setAttributes(toOtelAttributes(span.kind, attributes, this.#content));
  }

  end(span: Readonly<Span>): void {
    const open = this.#open.get(span.id);
    if (!open) return;
    this.#open.delete(span.id);
    const { otel } = open;
    otel.setAttributes(toOtelAttributes(span.kind, span.attributes, this.#content));
    const error = span.attributes.error;
    if (span.status === 'error') {
      const httpStatus = span.attributes.httpStatus;
      // A poll's error is its HTTP status, as HTTP client spans name theirs.
      const type = span.kind === 'poll' ? (typeof httpStatus === 'number' ? String(httpStatus) : OTHER_ERROR) : errorTypeOf(error);
      otel.setAttribute(ERROR_TYPE, type);
      otel.setStatus({ code: SpanStatusCode.ERROR, message: typeof error === 'string' ? error : type });
    } else if (span.status === 'skipped') {
      // The step failed but its policy let the run go on: not an error of the run's, so the status stays unset.
      otel.setAttribute(SHOAL.stepSkipped, errorTypeOf(error));
    }
    otel.end(span.endedAt);
  }

  #shape(span: Readonly<Span>, parent: Open | undefined): Shape {
    const stepId = parent?.stepId;
    switch (span.kind) {
      case 'run':
        return {
          name: `${OPERATION.workflow} ${span.name}`,
          kind: OtelSpanKind.INTERNAL,
          attributes: { [GEN_AI.operation]: OPERATION.workflow, [GEN_AI.workflowName]: span.name },
          stepId,
        };
      case 'step': {
        const agent = span.attributes.agent;
        if (agent === plannerAgent.name) {
          return {
            name: `${OPERATION.plan} ${agent}`,
            kind: OtelSpanKind.INTERNAL,
            attributes: { [GEN_AI.operation]: OPERATION.plan, [GEN_AI.agentName]: agent },
            stepId: span.name,
          };
        }
        return { name: `step ${span.name}`, kind: OtelSpanKind.INTERNAL, attributes: {}, stepId: span.name };
      }
      case 'agent-call':
        return this.#agentCall(span, stepId);
      case 'model-job':
        return {
          name: parent?.jobs?.name ?? span.name,
          kind: OtelSpanKind.CLIENT,
          attributes: { ...parent?.jobs?.attributes },
          stepId,
        };
      case 'poll':
        return { name: 'poll', kind: OtelSpanKind.CLIENT, attributes: {}, stepId };
    }
  }

  #agentCall(span: Readonly<Span>, stepId: string | undefined): Shape {
    const { provider, model, priority } = span.attributes;
    const attributes: Attributes = { [GEN_AI.operation]: OPERATION.agent, [GEN_AI.agentName]: span.name };
    if (typeof provider !== 'string' || typeof model !== 'string') {
      return { name: `${OPERATION.agent} ${span.name}`, kind: OtelSpanKind.INTERNAL, attributes, stepId };
    }
    const facts = modelFacts({ name: provider, model });
    attributes[GEN_AI.provider] = facts.provider;
    attributes[GEN_AI.requestModel] = facts.model;
    const jobAttributes: Attributes = { ...modelAttributes(facts), [GEN_AI.agentName]: span.name };
    if (typeof priority === 'number') jobAttributes[SHOAL.priority] = priority;
    return {
      name: `${OPERATION.agent} ${span.name}`,
      kind: OtelSpanKind.INTERNAL,
      attributes,
      stepId,
      jobs: { name: modelSpanName(facts), attributes: jobAttributes },
    };
  }
}
