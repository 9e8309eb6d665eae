import {
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
} from '@shoal/core';
import { checkCallOptions, checkRequest, reportListenerError, requestKey } from '@shoal/core/internal';
import { Queue, QueueEvents } from 'bullmq';
import { EventEmitter } from 'eventemitter3';
import type { QueuedJob } from './add-batcher.js';
import { quiet, type RedisConnection } from './connection.js';
import { JobResults } from './job-results.js';
import { aborted, type CallOwner, PendingCall } from './pending-call.js';
import { ProducerBudget } from './producer-budget.js';
import {
  bullKeepsPriority,
  bullPriority,
  type CallJobData,
  type CallJobResult,
  jobIdFor,
  KEEP_RESULTS_SECONDS,
  PROTOCOL_VERSION,
  randomId,
} from './protocol.js';
import { openQueue } from './registry.js';
import { decodeError } from './wire-error.js';

/** Options of `bullmqExecutor()`: the producer side of a shoal queue. */
export interface ProducerOptions {
  /** Where Redis is: a `redis://` URL or ioredis options. */
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
  /** Calls queued with one `addBulk` at most (the calls of one tick go together). @default 200 */
  readonly maxBatch?: number;
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
  const { connection, queue: name = 'shoal', timeoutMs, keepResultsSeconds = KEEP_RESULTS_SECONDS, budgetUsd, maxBatch } = options;
  if (budgetUsd !== undefined) ProducerBudget.check(budgetUsd);
  // Refuses to start beside a live producer or worker that speaks another protocol version.
  const membership = await openQueue(connection, 'bullmqExecutor()', name, 'producer');
  const { redis } = membership;
  const budget =
    budgetUsd === undefined
      ? undefined
      : await ProducerBudget.create(redis, name, budgetUsd).catch(async (error: unknown) => {
          await membership.leave();
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
  const results = new JobResults(redis, queue, queueEvents, [redis, events], maxBatch === undefined ? {} : { maxBatch });
  // BullMQ leaves connections it was given open: both are closed with the producer.
  const connections = {
    async disconnect() {
      results.close();
      await membership.leave();
      events.disconnect();
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
  #unpriced = 0;
  #inputTokens = 0;
  #cachedInputTokens = 0;
  #outputTokens = 0;
  /** Calls waiting for their result (ended at a shutdown's deadline), and who waits for none to be left. */
  readonly #inFlight = new Set<PendingCall>();
  #idle: (() => void)[] = [];
  readonly #owner: CallOwner = {
    finished: (call, result) => this.#callFinished(call, result),
    failed: (call, error) => this.#callFailed(call, error),
    // Its job left Redis unread (lost in a Redis restart): queued again, under the same id.
    gone: (call) => this.results.run(this.#job(call), call),
  };

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
    return new Promise<CompletionResult>((resolve, reject) => this.#start(request, options, resolve, reject));
  }

  /** Queues the call: from here on, it is a record waiting for its job (a million may wait at once). */
  #start(request: CompletionRequest, options: CallOptions | undefined, resolve: (result: CompletionResult) => void, reject: (error: unknown) => void): void {
    const started = performance.now();
    const priority = options?.priority ?? 0;
    // The call's id in events (128 random bits), and the shorter token its job carries (48: told apart from the few
    // calls that join the same job).
    const callId = randomId(16);
    const token = randomId(6);
    // One BullMQ job per request, for every producer: identical calls in flight share it. A call
    // that wants a new answer (`cache: 'refresh'`) or no cache gets a job of its own.
    const key = jobIdFor(requestKey('shoal.bullmq', request));
    const jobId = options?.cache === false || options?.cache === 'refresh' ? `${key}.${token}` : key;
    const call = new PendingCall(this.#owner, request, jobId, callId, token, started, priority, options, resolve, reject);
    this.#inFlight.add(call);
    this.#queued++;
    this.#tell('call-queued', () => this.events.emit('call-queued', { callId, at: started, tags: options?.tags, spanId: options?.spanId, priority }));
    // Its deadline and signal end the call (a call already queued runs on, on the workers).
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    if (options?.signal || timeoutMs !== undefined) call.watch(timeoutMs);
    // Waits from before the add: a job that joined one finished already answers from its result.
    this.results.run(this.#job(call), call);
  }

  /** The call's job: defaults are left out (the worker reads them back), so that a waiting job stays small in Redis. */
  #job(call: PendingCall): QueuedJob {
    const { options, priority } = call;
    const data: CallJobData = {
      v: PROTOCOL_VERSION,
      request: call.request,
      ...(bullKeepsPriority(priority) ? {} : { priority }),
      callId: call.token,
      ...(options?.cache === undefined ? {} : { cache: options.cache }),
      ...(options?.tags ? { tags: options.tags } : {}),
      ...(this.budget ? { budget: this.budget.id } : {}),
    };
    // Kept and removed by the workers' defaults (a finished job for an hour, a failure at once: the same call made
    // again is tried again); only another keep time goes in the job.
    const opts = {
      jobId: call.jobId,
      priority: bullPriority(priority),
      ...(this.keepResultsSeconds === KEEP_RESULTS_SECONDS ? {} : { removeOnComplete: { age: this.keepResultsSeconds } }),
    };
    return { id: call.jobId, data, opts };
  }

  #callFinished(call: PendingCall, result: CallJobResult): void {
    const { callId, options } = call;
    this.#queued--;
    // A call that joined an identical one (another caller's job) paid nothing: the other did. A cached one paid nothing either.
    const joined = !result.cached && result.callId !== call.token;
    const { unpriced, ...rest } = result;
    const outcome: CompletionResult = {
      ...rest,
      // The worker's model had no price for this job (and the server reported no charge): said to the caller who paid.
      ...(unpriced && !joined ? { unpriced } : {}),
      jobId: result.jobId ?? undefined,
      model: result.model ?? undefined,
      costUsd: joined ? 0 : result.costUsd,
      attempts: joined ? 0 : result.attempts,
      requests: joined ? 0 : result.requests,
      deduplicated: joined || result.deduplicated,
      durationMs: performance.now() - call.started,
    };
    this.#book(outcome);
    void this.budget?.refresh();
    this.#tell('call-end', () =>
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
      }),
    );
    this.#left(call);
    call.resolve(outcome);
  }

  #callFailed(call: PendingCall, raw: unknown): void {
    this.#queued--;
    this.#failed++;
    const error = decodeError(raw);
    // Before its caller hears of it, the producer reads its budget: spent (the workers refused the call), or charged for a failed job.
    void (this.budget?.refresh() ?? Promise.resolve()).then(() => {
      this.#tell('call-error', () =>
        this.events.emit('call-error', {
          callId: call.callId,
          at: performance.now(),
          tags: call.options?.tags,
          spanId: call.options?.spanId,
          error,
          attempts: 0,
          durationMs: performance.now() - call.started,
        }),
      );
      this.#left(call);
      call.reject(error);
    });
  }

  /**
   * Tells the listeners of `event`: one that throws breaks no call (each caller is answered
   * all the same). Its error goes to `listener-error` listeners, or, when there are none, is
   * thrown again on its own, as core's executor does.
   */
  #tell(event: string, emit: () => void): void {
    try {
      emit();
    } catch (error) {
      reportListenerError(this.events, event, error);
    }
  }

  #left(call: PendingCall): void {
    this.#inFlight.delete(call);
    if (this.#inFlight.size === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  /** Resolves once no call is left in flight. */
  #drained(): Promise<void> {
    return this.#inFlight.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #book(outcome: CompletionResult): void {
    this.#done++;
    if (outcome.cached) this.#cached++;
    if (outcome.deduplicated) this.#deduplicated++;
    else if (!outcome.cached) this.#jobs++;
    this.#requests += outcome.requests;
    this.#costUsd += outcome.costUsd;
    if (outcome.unpriced) this.#unpriced++;
    this.#inputTokens += outcome.usage.inputTokens;
    this.#cachedInputTokens += outcome.usage.cachedInputTokens;
    this.#outputTokens += outcome.usage.outputTokens;
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
      // Priced on the workers: a result says when its job could not be priced.
      unpricedCalls: this.#unpriced,
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
      prices: undefined,
      byTag: {},
      budgetUsd: this.budget?.usd,
      tokenizer: undefined, // the workers count, each in its own process
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
    await this.#drained();
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
    await Promise.race([this.#drained(), new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    const abandoned = this.#inFlight.size;
    for (const call of this.#inFlight) {
      call.abandon(
        new ExecutorClosedError(
          `The producer shut down and its deadline of ${deadlineMs} ms passed with this call still waiting. Its job stays in the queue: the workers run it on.`,
        ),
      );
    }
    this.#inFlight.clear();
    await this.#release();
    return { rejectedQueued: 0, finished: running - abandoned, abandoned, clean: abandoned === 0 };
  }

  async #release(): Promise<void> {
    await this.queueEvents.close();
    await this.queue.close();
    await this.redis.disconnect();
  }
}
