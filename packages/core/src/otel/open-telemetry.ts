import { createRequire } from 'node:module';
import { createNoopMeter, type Meter, type MeterProvider, metrics, ProxyTracerProvider, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import type { Executor } from '../executor/types.js';
import type { Span, Telemetry } from '../telemetry/telemetry.js';
import { type Check, checkOptions, option, optionError } from '../util/options.js';
import { CallSpans } from './call-spans.js';
import { ExecutorMetrics } from './metrics.js';
import { RunSpans } from './run-spans.js';
import { modelFacts } from './semconv.js';

/** Options of `openTelemetry()`. */
export interface OpenTelemetryOptions {
  /**
   * Where spans go. Without one, the global provider (`trace.getTracerProvider()`) as it is
   * when `openTelemetry()` is called: register yours before, or pass it here. When none is
   * registered, no span is made and `instrument()` does not listen to the executor at all.
   * @default the global tracer provider
   */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go; the same rule as `tracerProvider`. @default the global meter provider */
  readonly meterProvider?: MeterProvider;
  /**
   * Put content on spans: a run's task and each agent call's input, as `gen_ai.input.messages`.
   * They may hold personal data. Answers are not recorded: shoal's spans do not carry them. @default false
   */
  readonly recordContent?: boolean;
  /** Record the metrics (when a meter provider is there). @default true */
  readonly metrics?: boolean;
}

/** A telemetry backend for `createCoordinator({ telemetry })` that is also the executor's instrumentation. */
export interface ShoalOpenTelemetry extends Telemetry {
  /**
   * Traces `executor`'s calls made outside a coordinator run (`agent.run`, `executor.complete`)
   * and records its metrics, until the function returned is called. Calls of a coordinator
   * run given this same object as its `telemetry` are traced by the run, never twice.
   */
  instrument(executor: Executor): () => void;
  /** Whether spans are made: a tracer provider was given, or one was registered when this was made. */
  readonly tracing: boolean;
  /** Whether metrics are recorded: a meter provider was given, or one was registered, and `metrics` is not false. */
  readonly metering: boolean;
}

const SCOPE = '@shoal/core';
const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { readonly version: string }).version;

const provides =
  (method: string, expected: string): Check =>
  (name, value) => {
    if (typeof value !== 'object' || value === null || typeof (value as Record<string, unknown>)[method] !== 'function')
      throw optionError(name, expected, value);
    return value;
  };

const OPTIONS = {
  tracerProvider: provides('getTracer', 'an OpenTelemetry TracerProvider (with getTracer())'),
  meterProvider: provides('getMeter', 'an OpenTelemetry MeterProvider (with getMeter())'),
  recordContent: option.boolean(),
  metrics: option.boolean(),
} satisfies Record<keyof OpenTelemetryOptions, Check>;

/** What the API answers when no SDK registered a tracer provider. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * shoal's spans and metrics through OpenTelemetry: pass the result as a coordinator's
 * `telemetry`, and call `instrument(executor)` for the executor's own calls and metrics.
 * Decided once, here: with no provider registered (nor passed), everything it does returns at
 * once and nothing listens to an executor, so it costs nothing.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): ShoalOpenTelemetry {
  checkOptions('openTelemetry()', options, OPTIONS);
  const tracer = tracerOf(options.tracerProvider);
  const meter = options.metrics === false ? undefined : meterOf(options.meterProvider);
  return new OpenTelemetryBackend(tracer, meter, options.recordContent ?? false);
}

function tracerOf(given: TracerProvider | undefined): Tracer | undefined {
  const provider = given ?? trace.getTracerProvider();
  // The global provider is a proxy until an SDK sets its delegate.
  const effective = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  return effective === NOOP_TRACER_PROVIDER ? undefined : provider.getTracer(SCOPE, VERSION);
}

function meterOf(given: MeterProvider | undefined): Meter | undefined {
  const meter = (given ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);
  return meter === createNoopMeter() ? undefined : meter;
}

const nothing = () => {};

class OpenTelemetryBackend implements ShoalOpenTelemetry {
  readonly #tracer: Tracer | undefined;
  readonly #runs: RunSpans | undefined;
  readonly #metrics: ExecutorMetrics | undefined;

  constructor(tracer: Tracer | undefined, meter: Meter | undefined, content: boolean) {
    this.#tracer = tracer;
    this.#runs = tracer && new RunSpans(tracer, content);
    this.#metrics = meter && new ExecutorMetrics(meter);
  }

  get tracing(): boolean {
    return this.#runs !== undefined;
  }

  get metering(): boolean {
    return this.#metrics !== undefined;
  }

  spanStart(span: Readonly<Span>): void {
    this.#runs?.start(span);
  }

  spanAttributes(span: Readonly<Span>, attributes: Readonly<Record<string, unknown>>): void {
    this.#runs?.attributes(span, attributes);
  }

  spanEnd(span: Readonly<Span>): void {
    this.#runs?.end(span);
  }

  instrument(executor: Executor): () => void {
    if (!this.#tracer && !this.#metrics) return nothing;
    if (typeof executor?.events?.on !== 'function' || typeof executor.metrics !== 'function') {
      throw optionError('executor', 'an executor (from createExecutor())', executor, 'instrument(executor) listens to its events.');
    }
    const facts = modelFacts(executor.provider);
    const runs = this.#runs;
    const spans = this.#tracer && runs ? new CallSpans(executor, this.#tracer, facts, (spanId) => runs.has(spanId)) : undefined;
    const unwatch = this.#metrics?.watch(executor, facts);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      spans?.close();
      unwatch?.();
    };
  }
}
