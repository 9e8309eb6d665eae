import { randomUUID } from 'node:crypto';
import {
  AbortError,
  type CallOptions,
  type CompletionRequest,
  type CompletionResult,
  type Executor,
  ExecutorClosedError,
  type ExecutorEvents,
  type ExecutorMetrics,
  type ModelProvider,
  ShoalError,
  type ShutdownOptions,
  type ShutdownReport,
  TimeoutError,
} from '@shoal/core';
import { checkCallOptions, checkRequest, requestKey } from '@shoal/core/internal';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { EventEmitter } from 'eventemitter3';
import { connect, describeConnection, quiet, type RedisConnection, ready } from './connection.js';
import { JobGoneError, JobResults } from './job-results.js';
import { ProducerBudget } from './producer-budget.js';
import { bullPriority, type CallJobData, type CallJobResult, PROTOCOL_VERSION } from './protocol.js';
import { joinQueue } from './registry.js';
import { decodeError } from './wire-error.js';

export interface ProducerOptions {
  readonly connection: RedisConnection;
  /** The queue's name: producers and workers of one queue use the same. @default 'shoal' */
  readonly queue?: string;
  /** Default per-call deadline, queue wait included. @default none */
  readonly timeoutMs?: number;
  /** How long a finished call's result is kept in the queue, for identical calls arriving late (failures are not kept). @default 3600 */
  readonly keepResultsSeconds?: number;
  /**
   * US dollars for all of this producer's calls, on every worker together (a record in
   * Redis): once spent, the workers create no job for its calls and they fail with
   * BudgetExceededError, and the producer refuses new ones before queueing them. Passed
   * by at most about one call, as core's budget. @default none
   */
  readonly budgetUsd?: number;
}

/** The producer's stand-in for a provider: it holds no key and sends nothing; the workers do. */
const REMOTE: ModelProvider = {
  specificationVersion: 'shoal.provider.v1',
  name: 'bullmq-remote',
  model: 'remote',
  async doComplete() {
    throw new ShoalError('INTERNAL', 'The bullmq producer sends no request itself: its calls run on the workers.', false);
  },
};

/**
 * An executor whose calls run on the workers of a BullMQ queue: the same interface as
 * `createExecutor()`, so agents, the coordinator and the ready-made agents run on it
 * unchanged. Identical requests in flight anywhere share one BullMQ job (its id is the
 * request's key); priorities order the calls of every producer of the queue.
 */
export async function bullmqExecutor(options: ProducerOptions): Promise<Executor> {
  const { connection, queue: name = 'shoal', timeoutMs, keepResultsSeconds = 3600, budgetUsd } = options;
  if (budgetUsd !== undefined) ProducerBudget.check(budgetUsd);
  const redis = connect(connection, 'bullmqExecutor()');
  // Refuses to start beside a live producer or worker that speaks another protocol version.
  const registration = await ready(redis, describeConnection(connection))
    .then(() => joinQueue(redis, name, 'producer'))
    .catch((error: unknown) => {
      redis.disconnect();
      throw error;
    });
  const budget =
    budgetUsd === undefined
      ? undefined
      : await ProducerBudget.create(redis, name, budgetUsd).catch(async (error: unknown) => {
          await registration.close();
          redis.disconnect();
          throw error;
        });
  const queue = new Queue<CallJobData, CallJobResult>(name, { connection: redis });
  const events = quiet(redis.duplicate());
  // The stream is read from its end as of now (not from '$' at the first read, which a drop before it would move on).
  const [last] = await redis.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
  const queueEvents = new QueueEvents(name, { connection: events, lastEventId: last?.[0] ?? '0-0' });
  await queueEvents.waitUntilReady();
  // A dropped connection is reported by BullMQ as an error event, printed when nobody listens; the commands
  // meanwhile wait for the reconnection, and JobResults reads again what the stream may have missed.
  queue.on('error', () => undefined);
  queueEvents.on('error', () => undefined);
  const results = new JobResults(redis, queue, queueEvents, [redis, events]);
  // BullMQ leaves connections it was given open: both are closed with the producer.
  const connections = {
    async disconnect() {
      results.close();
      await registration.close();
      for (const c of [redis, events]) c.disconnect();
    },
  };
  return new BullmqProducer(queue, queueEvents, results, connections, timeoutMs, keepResultsSeconds, budget);
}

class BullmqProducer implements Executor {
  /** Emitted here, for this producer's calls: call-queued, call-end, call-error (what happens on the workers is theirs). */
  readonly events = new EventEmitter<ExecutorEvents>();
  readonly provider = REMOTE;
  #closed = false;
  #queued = 0;
  #done = 0;
  #failed = 0;
  #cached = 0;
  #deduplicated = 0;
  #requests = 0;
  #jobs = 0;
  #costUsd = 0;
  #inputTokens = 0;
  #cachedInputTokens = 0;
  #outputTokens = 0;
  /** Calls waiting for their result, and how to end them at a shutdown's deadline. */
  readonly #inFlight = new Map<Promise<unknown>, (error: ShoalError) => void>();

  constructor(
    private readonly queue: Queue<CallJobData, CallJobResult>,
    private readonly queueEvents: QueueEvents,
    private readonly results: JobResults,
    private readonly redis: { disconnect(): Promise<void> },
    private readonly timeoutMs: number | undefined,
    private readonly keepResultsSeconds: number,
    private readonly budget: ProducerBudget | undefined,
  ) {}

  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult> {
    const invalid = checkRequest(request) ?? checkCallOptions(options);
    if (invalid) return Promise.reject(invalid);
    if (this.#closed) return Promise.reject(new ExecutorClosedError());
    // Once Redis said the budget is spent, nothing more is queued.
    const refused = this.budget?.refusal();
    if (refused) return Promise.reject(refused);
    // Nothing is queued (and so nothing paid on a worker) for a caller who has left already.
    if (options?.signal?.aborted) return Promise.reject(aborted(options.signal));
    let end!: (error: ShoalError) => void;
    const ended = new Promise<never>((_, reject) => (end = reject));
    const promise = Promise.race([this.#complete(request, options), ended]);
    this.#inFlight.set(promise, end);
    void promise.then(
      () => this.#inFlight.delete(promise),
      () => this.#inFlight.delete(promise),
    );
    return promise;
  }

  async #complete(request: CompletionRequest, options: CallOptions | undefined): Promise<CompletionResult> {
    const started = performance.now();
    const priority = options?.priority ?? 0;
    const callId = randomUUID();
    // One BullMQ job per request, for every producer: identical calls in flight share it. A call
    // that wants a new answer (`cache: 'refresh'`) or no cache gets a job of its own.
    const key = requestKey('shoal.bullmq', request);
    const jobId = options?.cache === false || options?.cache === 'refresh' ? `${key}.${callId}` : key;
    const data: CallJobData = {
      v: PROTOCOL_VERSION,
      request,
      priority,
      callId,
      ...(options?.cache === undefined ? {} : { cache: options.cache }),
      ...(options?.tags ? { tags: options.tags } : {}),
      ...(this.budget ? { budget: this.budget.id } : {}),
    };
    this.#queued++;
    let queued = true;
    this.events.emit('call-queued', { callId, at: started, tags: options?.tags, spanId: options?.spanId, priority });
    try {
      const add = () =>
        this.queue.add('call', data, {
          jobId,
          priority: bullPriority(priority),
          attempts: 1,
          removeOnComplete: { age: this.keepResultsSeconds },
          // A failure is not kept: the same call made again is tried again, not answered with the old error.
          removeOnFail: true,
        });
      const job = await this.#wait(add(), options);
      let result: CallJobResult;
      try {
        result = await this.#wait(this.results.wait(job.id!), options);
      } catch (error) {
        // The job this call joined was finished and removed before it could be awaited (or lost in a Redis restart): queue the call again.
        if (!(error instanceof JobGoneError)) throw error;
        const again: Job<CallJobData, CallJobResult> = await this.#wait(add(), options);
        result = await this.#wait(this.results.wait(again.id!), options);
      }
      this.#queued--;
      queued = false;
      // A call that joined an identical one (another caller's job) paid nothing: the other did.
      const joined = result.callId !== callId;
      const outcome: CompletionResult = {
        ...result,
        jobId: result.jobId ?? undefined,
        model: result.model ?? undefined,
        costUsd: joined ? 0 : result.costUsd,
        attempts: joined ? 0 : result.attempts,
        requests: joined ? 0 : result.requests,
        deduplicated: joined || result.deduplicated,
        durationMs: performance.now() - started,
      };
      this.#book(outcome);
      void this.budget?.refresh();
      this.events.emit('call-end', {
        callId,
        at: performance.now(),
        tags: options?.tags,
        spanId: options?.spanId,
        jobId: outcome.jobId,
        attempts: outcome.attempts,
        durationMs: outcome.durationMs,
        usage: outcome.usage,
        costUsd: outcome.costUsd,
        deduplicated: outcome.deduplicated,
        requests: outcome.requests,
      });
      return outcome;
    } catch (raw) {
      if (queued) this.#queued--;
      this.#failed++;
      const error = decodeError(raw);
      // Before its caller hears of it, the producer reads its budget: spent (the workers refused the call), or charged for a failed job.
      await this.budget?.refresh();
      this.events.emit('call-error', {
        callId,
        at: performance.now(),
        tags: options?.tags,
        spanId: options?.spanId,
        error,
        attempts: 0,
        durationMs: performance.now() - started,
      });
      throw error;
    }
  }

  #book(outcome: CompletionResult): void {
    this.#done++;
    if (outcome.cached) this.#cached++;
    if (outcome.deduplicated) this.#deduplicated++;
    else if (!outcome.cached) this.#jobs++;
    this.#requests += outcome.requests;
    this.#costUsd += outcome.costUsd;
    this.#inputTokens += outcome.usage.inputTokens;
    this.#cachedInputTokens += outcome.usage.cachedInputTokens;
    this.#outputTokens += outcome.usage.outputTokens;
  }

  /** `work`, unless the caller's signal or deadline comes first (a call already queued runs on, on the workers). */
  #wait<T>(work: Promise<T>, options: CallOptions | undefined): Promise<T> {
    const signal = options?.signal;
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    if (!signal && timeoutMs === undefined) return work;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => reject(aborted(signal!));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined)
        timer = setTimeout(() => reject(new TimeoutError(`The call timed out after ${timeoutMs} ms; if it was queued, it runs on in the queue.`)), timeoutMs);
      work.then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  /**
   * This producer's calls, from their results. What happens on the workers (concurrency,
   * 429s, the learnt rate, latency percentiles) is in each worker's own `executor.metrics()`
   * and in `queueStats()`; those fields read 0 or undefined here.
   */
  metrics(): ExecutorMetrics {
    // With a budget, Redis's figure when it is more: it counts the jobs of failed calls too.
    const costUsd = Math.max(this.#costUsd, this.budget?.spentUsd ?? 0);
    const totals = {
      calls: this.#done,
      cachedCalls: this.#cached,
      failedCalls: this.#failed,
      inputTokens: this.#inputTokens,
      cachedInputTokens: this.#cachedInputTokens,
      outputTokens: this.#outputTokens,
      costUsd,
    };
    return {
      queued: this.#queued,
      running: 0,
      done: this.#done,
      failed: this.#failed,
      cached: this.#cached,
      deduplicated: this.#deduplicated,
      retries: 0,
      jobs: this.#jobs,
      requests: this.#requests,
      requestsPerJob: this.#jobs === 0 ? 0 : this.#requests / this.#jobs,
      rateLimited: 0,
      learnedRequestsPerMinute: undefined,
      latencyMs: { p50: 0, p95: 0, p99: 0, mean: 0 },
      concurrency: { limit: 0, effective: 0 },
      totals,
      costUsd,
      byTag: {},
      budgetUsd: this.budget?.usd,
      refusedAfterClose: 0,
      recovery: { resumed: 0, recreated: 0, storeErrors: 0 },
    };
  }

  /** Stops taking calls; with `drain` (default) waits for the calls in flight, else ends them now. */
  async close(options?: { readonly drain?: boolean }): Promise<void> {
    if (options?.drain === false) {
      await this.shutdown({ deadlineMs: 0 });
      return;
    }
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight.keys()]);
    await this.#release();
  }

  /**
   * Stops taking calls and waits for those in flight until the deadline; then their callers
   * get ExecutorClosedError. Their jobs stay in the queue: the workers run them on.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    this.#closed = true;
    const deadlineMs = options.deadlineMs ?? 10_000;
    const running = this.#inFlight.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight.keys()]), new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    const abandoned = this.#inFlight.size;
    for (const end of this.#inFlight.values()) {
      end(
        new ExecutorClosedError(
          `The producer shut down and its deadline of ${deadlineMs} ms passed with this call still waiting. Its job stays in the queue: the workers run it on.`,
        ),
      );
    }
    await this.#release();
    return { rejectedQueued: 0, finished: running - abandoned, abandoned, clean: abandoned === 0 };
  }

  async #release(): Promise<void> {
    await this.queueEvents.close();
    await this.queue.close();
    await this.redis.disconnect();
  }
}

function aborted(signal: AbortSignal): ShoalError {
  const reason: unknown = signal.reason;
  if (ShoalError.isInstance(reason)) return reason;
  return new AbortError('The call was aborted. If it was queued already, it runs on in the queue: a worker may still create its job.', { cause: reason });
}
