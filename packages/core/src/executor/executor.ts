import { setMaxListeners } from 'node:events';
import { ExecutorClosedError, ShoalConfigError } from '../errors.js';
import type { ModelPrices } from '../providers/prices.js';
import type { CompletionRequest, ModelProvider } from '../providers/types.js';
import { loadTokenizer, tokenizerKind } from '../tokens.js';
import type { Clock } from '../util/clock.js';
import { MAX_TIMER_MS } from '../util/clock.js';
import { AdaptiveConcurrency } from './adaptive-concurrency.js';
import { Budget } from './budget.js';
import { type Call, callPromise, newCall } from './call.js';
import { Cancellation } from './cancellation.js';
import { Dispatcher } from './dispatcher.js';
import { ExecutorEmitter } from './emitter.js';
import { leftKey } from './flight-attempts.js';
import { FlightRunner } from './flight-runner.js';
import { CostLedger, snapshotTotals } from './ledger.js';
import { LeftJobs } from './left-jobs.js';
import { Lifecycle } from './lifecycle.js';
import type { Limiter } from './limiter.js';
import { checkCallOptions, checkRequest, resolveExecutorOptions } from './options.js';
import type { CallQueue } from './queue.js';
import { RequestGate } from './request-gate.js';
import type { RunnerParts } from './runner-parts.js';
import { Settler } from './settle.js';
import { ExecutorState } from './state.js';
import type { CallOptions, CompletionResult, Executor, ExecutorMetrics, ExecutorOptions, ShutdownOptions, ShutdownReport } from './types.js';

export type { CallOptions, CompletionResult, Executor, ExecutorMetrics, ExecutorOptions, ShutdownOptions, ShutdownReport } from './types.js';

/**
 * The shared executor: every model call of an app goes through it, by priority, under one set of limits, retries, cache and budget. Throws `ShoalConfigError`
 * on a wrong option.
 */
export function createExecutor(options: ExecutorOptions): Executor {
  return new ShoalExecutor(options);
}

/**
 * The wiring: one queue of calls by priority (the queue seam), a dispatcher that starts
 * them under the concurrency, budget and limiter (the limiter seam), a flight runner per
 * job, a settler that answers callers, and a lifecycle for close and shutdown. Each part is
 * a file of its own; this one holds them together and answers `complete()` and `metrics()`.
 */
class ShoalExecutor implements Executor {
  readonly provider: ModelProvider;
  readonly #state = new ExecutorState();
  readonly #emitter: ExecutorEmitter;
  readonly #clock: Clock;
  readonly #queue: CallQueue<Call>;
  readonly #concurrency: AdaptiveConcurrency;
  readonly #adaptive: boolean;
  readonly #limiter: Limiter | undefined;
  readonly #ledger: CostLedger;
  readonly #prices: Required<ModelPrices> | undefined;
  readonly #budget: Budget | undefined;
  readonly #settler: Settler;
  readonly #dispatcher: Dispatcher;
  readonly #cancellation: Cancellation;
  readonly #lifecycle: Lifecycle;
  readonly #timeoutMs: number | undefined;
  readonly #maxRetryAfterMs: number;
  #seq = 0;

  constructor(options: ExecutorOptions) {
    const resolved = resolveExecutorOptions(options);
    const clock = (this.#clock = resolved.clock);
    const state = this.#state;
    this.provider = resolved.provider;
    this.#emitter = new ExecutorEmitter(clock);
    this.#queue = resolved.queue<Call>();
    const queue = this.#queue as Partial<CallQueue<Call>> | undefined;
    if (
      typeof queue !== 'object' ||
      queue === null ||
      !['enqueue', 'peek', 'take', 'cancel', 'drain'].every((m) => typeof queue[m as keyof CallQueue] === 'function')
    ) {
      throw new ShoalConfigError(
        'createExecutor({ queue }) must return a queue { size, enqueue(), peek(), take(), cancel(), drain() }: the function given returned something else.',
      );
    }
    this.#concurrency = new AdaptiveConcurrency(resolved.concurrency, () => clock.now());
    this.#adaptive = resolved.adaptiveConcurrency;
    const limiter = (this.#limiter = resolved.limiter);
    this.#ledger = new CostLedger(resolved.prices);
    this.#prices = resolved.prices;
    if (resolved.budgetUsd !== undefined) this.#budget = new Budget(resolved.budgetUsd, this.#ledger);
    this.#timeoutMs = resolved.timeoutMs;
    this.#maxRetryAfterMs = resolved.retry.maxRetryAfterMs;
    const left = new LeftJobs();
    this.#settler = new Settler(state, this.#emitter, this.#ledger, clock, (flight) => left.unwinding(leftKey(this.provider.model, flight)));
    const wake = () => this.#dispatcher.pump();
    // Where polls and retried creates wait for the limiter, taking turns with new calls.
    const gate = limiter ? new RequestGate(limiter, clock, wake, () => state.queued > 0) : undefined;
    this.#dispatcher = new Dispatcher({
      state,
      queue: this.#queue,
      concurrency: this.#concurrency,
      limiter,
      gate,
      budget: this.#budget,
      ledger: this.#ledger,
      emitter: this.#emitter,
      settler: this.#settler,
      clock,
      model: this.provider.model,
      cacheOn: resolved.cache !== undefined,
      journaling: resolved.store !== undefined,
      dedupe: resolved.dedupe,
      reservedOutputTokens: resolved.reservedOutputTokens,
    });
    this.#queue.onReady?.(wake);
    limiter?.onReady?.(wake);
    const stop = new AbortController();
    const kill = new AbortController();
    // One listener per waiting poll or request of each flight: as many as calls in flight.
    setMaxListeners(0, stop.signal);
    setMaxListeners(0, kill.signal); // one per create in flight
    const parts: RunnerParts = {
      provider: this.provider,
      retry: resolved.retry,
      random: resolved.random,
      clock,
      cache: resolved.cache,
      store: resolved.store,
      left,
      gate,
      limiter,
      ledger: this.#ledger,
      budget: this.#budget,
      state,
      emitter: this.#emitter,
      settler: this.#settler,
      stop: stop.signal,
      kill: kill.signal,
      onRateLimited: (retryAfterMs) => this.#onRateLimited(retryAfterMs),
      onAccepted: () => {
        this.#concurrency.onAnswer();
        limiter?.onAccepted();
      },
      unreserve: (flight) => this.#dispatcher.unreserve(flight),
      wake,
    };
    this.#dispatcher.runner = new FlightRunner(parts);
    this.#cancellation = new Cancellation(state, this.#queue, this.#settler, this.#concurrency, this.provider);
    this.#lifecycle = new Lifecycle({
      state,
      queue: this.#queue,
      settler: this.#settler,
      clock,
      provider: this.provider,
      store: resolved.store,
      cache: resolved.cache,
      stop,
      kill,
      closeDispatch: () => {
        this.#dispatcher.close();
        gate?.close(new ExecutorClosedError());
      },
    });
    // Token counts are needed for a tokens-per-minute limit and to estimate a call's cost against a budget.
    if (limiter?.countsTokens || resolved.budgetUsd !== undefined) {
      this.#dispatcher.tokenizerReady = false;
      void loadTokenizer().then(() => {
        this.#dispatcher.tokenizerReady = true;
        wake();
      });
    }
  }

  get events() {
    return this.#emitter.events;
  }

  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult> {
    // Both checks are plain loops that allocate nothing for valid input (this is the hot path).
    const invalid = checkRequest(request) ?? checkCallOptions(options);
    if (invalid) return Promise.reject(invalid);
    const state = this.#state;
    if (state.closed) {
      state.refusedAfterClose++;
      return Promise.reject(new ExecutorClosedError());
    }
    if (state.budgetExceeded) return Promise.reject(this.#budget!.error());
    const priority = options?.priority ?? 0;
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(this.#cancellation.reason(signal));
    const promise = callPromise();
    const call = newCall(this.#seq++, priority, request, options, this.#clock.now());
    if (signal) this.#cancellation.watch(signal);
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs;
    // Past what a timer can hold (about 24.8 days) means no deadline.
    if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) call.timer = this.#clock.setTimeout(() => this.#cancellation.timeout(call, timeoutMs), timeoutMs);
    state.queued++;
    this.#queue.enqueue(call);
    // Once per call, a million of them at a time: no payload is built unless somebody listens.
    if (this.#emitter.has('call-queued')) this.#emitter.call('call-queued', call, { at: call.enqueuedAt, priority });
    if (state.running < this.#concurrency.max) this.#dispatcher.pump();
    return promise;
  }

  metrics(): ExecutorMetrics {
    const state = this.#state;
    const [p50, p95, p99] = state.latency.percentiles(50, 95, 99);
    const totals = snapshotTotals(this.#ledger.total);
    const learned = this.#limiter?.learnedPerSecond;
    return {
      queued: state.queued,
      running: state.running,
      done: state.done,
      failed: state.failed,
      cached: state.cached,
      deduplicated: state.deduplicated,
      retries: state.retries,
      jobs: state.jobs,
      requests: state.requests,
      requestsPerJob: state.jobs === 0 ? 0 : state.requests / state.jobs,
      rateLimited: state.rateLimited,
      learnedRequestsPerMinute: learned === undefined ? undefined : learned * 60,
      latencyMs: { p50: p50!, p95: p95!, p99: p99!, mean: state.latency.mean() },
      concurrency: { limit: this.#concurrency.max, effective: this.#concurrency.current },
      totals,
      costUsd: totals.costUsd,
      prices: this.#prices ?? 'unknown',
      byTag: this.#ledger.byTag(),
      budgetUsd: this.#budget?.usd,
      tokenizer: tokenizerKind(),
      refusedAfterClose: state.refusedAfterClose,
      recovery: { resumed: state.resumed, recreated: state.recreated, storeErrors: state.storeErrors },
    };
  }

  close(options?: { readonly drain?: boolean }): Promise<void> {
    return this.#lifecycle.close(options);
  }

  shutdown(options?: ShutdownOptions): Promise<ShutdownReport> {
    return this.#lifecycle.shutdown(options);
  }

  /** A 429, on a create or a poll: every request waits out its Retry-After, the learnt rate drops, and on a burst so does the concurrency. */
  #onRateLimited(retryAfterMs: number | undefined): void {
    this.#state.rateLimited++;
    this.#limiter?.onRateLimited(retryAfterMs, this.#maxRetryAfterMs);
    if (!this.#adaptive) return;
    const from = this.#concurrency.current;
    if (this.#concurrency.onRateLimited()) {
      const to = this.#concurrency.current;
      this.#dispatcher.lastEffective = to;
      this.#emitter.emit('concurrency-change', { at: this.#clock.now(), from, to, reason: 'rate-limited' });
    }
  }
}
