import {
  type Attributes,
  type BatchObservableResult,
  type Histogram,
  type Meter,
  type ObservableCounter,
  type ObservableGauge,
  type ObservableUpDownCounter,
  ValueType,
} from '@opentelemetry/api';
import type { CallEndEvent, CallErrorEvent } from '../executor/events.js';
import type { Executor } from '../executor/types.js';
import { DURATION_BUCKETS, ERROR_TYPE, GEN_AI, type ModelFacts, modelAttributes, TOKEN_BUCKETS } from './semconv.js';

interface Watched {
  readonly executor: Executor;
  /** What its gauges are told apart by: provider and model. */
  readonly key: string;
  readonly attributes: Attributes;
}

/**
 * The executor's metrics through an OpenTelemetry meter. Per call, as it ends: the GenAI
 * client histograms `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` (with
 * the spec's bucket advice). Read at each collection from `executor.metrics()`, so they cost
 * nothing between collections: the calls queued and running (up-down counters: they add up
 * across executors and processes), the effective and configured concurrency (gauges), and the
 * USD spent (a counter: it only grows).
 */
export class ExecutorMetrics {
  readonly #meter: Meter;
  readonly #tokens: Histogram;
  readonly #duration: Histogram;
  readonly #queued: ObservableUpDownCounter;
  readonly #running: ObservableUpDownCounter;
  readonly #effective: ObservableGauge;
  readonly #limit: ObservableGauge;
  readonly #spend: ObservableCounter;
  readonly #watched = new Set<Watched>();
  readonly #observe = (result: BatchObservableResult) => this.#collect(result);

  constructor(meter: Meter) {
    this.#meter = meter;
    this.#tokens = meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    });
    this.#duration = meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's',
      description: 'GenAI operation duration.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    const calls = { unit: '{call}', valueType: ValueType.INT };
    this.#queued = meter.createObservableUpDownCounter('shoal.executor.queued', { ...calls, description: "Calls waiting in the executor's queue." });
    this.#running = meter.createObservableUpDownCounter('shoal.executor.running', { ...calls, description: 'Calls the executor is running.' });
    this.#effective = meter.createObservableGauge('shoal.executor.concurrency.effective', {
      ...calls,
      description: 'Calls the executor may run at once now (lowered on bursts of 429s).',
    });
    this.#limit = meter.createObservableGauge('shoal.executor.concurrency.limit', {
      ...calls,
      description: 'Calls the executor may run at once, as configured.',
    });
    this.#spend = meter.createObservableCounter('shoal.executor.spend', { unit: 'USD', description: 'USD the executor has spent.' });
  }

  /** Records `executor`'s calls until the function returned is called. */
  watch(executor: Executor, facts: ModelFacts): () => void {
    const base = modelAttributes(facts);
    const input = { ...base, [GEN_AI.tokenType]: 'input' };
    const output = { ...base, [GEN_AI.tokenType]: 'output' };
    const onEnd = (e: CallEndEvent) => {
      // A cache hit or a shared flight asked no model (CompletionResult: `attempts` is 0 for both): no GenAI operation, no tokens used.
      if (e.attempts === 0) return;
      this.#tokens.record(e.usage.inputTokens, input);
      this.#tokens.record(e.usage.outputTokens, output);
      this.#duration.record(e.durationMs / 1000, base);
    };
    const onError = (e: CallErrorEvent) => this.#duration.record(e.durationMs / 1000, { ...base, [ERROR_TYPE]: e.error.code });
    executor.events.on('call-end', onEnd);
    executor.events.on('call-error', onError);
    const watched: Watched = {
      executor,
      key: `${facts.provider}\n${facts.model}`,
      attributes: { [GEN_AI.provider]: facts.provider, [GEN_AI.requestModel]: facts.model },
    };
    if (this.#watched.size === 0) this.#meter.addBatchObservableCallback(this.#observe, this.#observables());
    this.#watched.add(watched);
    return () => {
      executor.events.off('call-end', onEnd);
      executor.events.off('call-error', onError);
      if (this.#watched.delete(watched) && this.#watched.size === 0) this.#meter.removeBatchObservableCallback(this.#observe, this.#observables());
    };
  }

  #observables() {
    return [this.#queued, this.#running, this.#effective, this.#limit, this.#spend];
  }

  /** One point per provider and model: executors of the same model add up. */
  #collect(result: BatchObservableResult): void {
    const sums = new Map<string, { attributes: Attributes; queued: number; running: number; effective: number; limit: number; spend: number }>();
    for (const { executor, key, attributes } of this.#watched) {
      const m = executor.metrics();
      const sum = sums.get(key) ?? { attributes, queued: 0, running: 0, effective: 0, limit: 0, spend: 0 };
      sum.queued += m.queued;
      sum.running += m.running;
      sum.effective += m.concurrency.effective;
      sum.limit += m.concurrency.limit;
      sum.spend += m.costUsd;
      sums.set(key, sum);
    }
    for (const sum of sums.values()) {
      result.observe(this.#queued, sum.queued, sum.attributes);
      result.observe(this.#running, sum.running, sum.attributes);
      result.observe(this.#effective, sum.effective, sum.attributes);
      result.observe(this.#limit, sum.limit, sum.attributes);
      result.observe(this.#spend, sum.spend, sum.attributes);
    }
  }
}
