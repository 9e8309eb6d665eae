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
  type ShoalErrorCode,
  type ShutdownReport,
  TimeoutError,
} from '@shoal/core';
import { checkCallOptions, checkRequest, requestKey } from '@shoal/core/internal';
import { Queue, QueueEvents } from 'bullmq';
import { EventEmitter } from 'eventemitter3';
import { connect, describeConnection, quiet, type RedisConnection, ready } from './connection.js';
import { bullPriority, type CallJobData, type CallJobResult, PROTOCOL_VERSION } from './protocol.js';

export interface ProducerOptions {
  readonly connection: RedisConnection;
  /** The queue's name: producers and workers of one queue use the same. @default 'shoal' */
  readonly queue?: string;
  /** Default per-call deadline, queue wait included. @default none */
  readonly timeoutMs?: number;
  /** How long a finished call's result is kept in the queue, for identical calls arriving late (failures are not kept). @default 3600 */
  readonly keepResultsSeconds?: number;
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
  const { connection, queue: name = 'shoal', timeoutMs, keepResultsSeconds = 3600 } = options;
  const redis = connect(connection, 'bullmqExecutor()');
  await ready(redis, describeConnection(connection)).catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  const queue = new Queue<CallJobData, CallJobResult>(name, { connection: redis });
  const events = quiet(redis.duplicate());
  const queueEvents = new QueueEvents(name, { connection: events });
  await queueEvents.waitUntilReady();
  // BullMQ leaves connections it was given open: both are closed with the producer.
  const connections = { disconnect: () => [redis, events].forEach((c) => c.disconnect()) };
  return new BullmqProducer(queue, queueEvents, connections, timeoutMs, keepResultsSeconds);
}

class BullmqProducer implements Executor {
  readonly events = new EventEmitter<ExecutorEvents>();
  readonly provider = REMOTE;
  #closed = false;
  #running = 0;
  #done = 0;
  #failed = 0;
  #costUsd = 0;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly queue: Queue<CallJobData, CallJobResult>,
    private readonly queueEvents: QueueEvents,
    private readonly redis: { disconnect(): void },
    private readonly timeoutMs: number | undefined,
    private readonly keepResultsSeconds: number,
  ) {}

  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult> {
    const invalid = checkRequest(request) ?? checkCallOptions(options);
    if (invalid) return Promise.reject(invalid);
    if (this.#closed) return Promise.reject(new ExecutorClosedError());
    const promise = this.#complete(request, options);
    this.#inFlight.add(promise);
    void promise.then(
      () => this.#inFlight.delete(promise),
      () => this.#inFlight.delete(promise),
    );
    return promise;
  }

  async #complete(request: CompletionRequest, options: CallOptions | undefined): Promise<CompletionResult> {
    const started = performance.now();
    const priority = options?.priority ?? 0;
    // One BullMQ job per request, for every producer: identical calls in flight share it.
    const jobId = options?.cache === false ? undefined : requestKey('shoal.bullmq', request);
    const data: CallJobData = { v: PROTOCOL_VERSION, request, priority, ...(options?.tags ? { tags: options.tags } : {}) };
    this.#running++;
    try {
      const job = await this.queue.add('call', data, {
        ...(jobId ? { jobId } : {}),
        priority: bullPriority(priority),
        attempts: 1,
        removeOnComplete: { age: this.keepResultsSeconds },
        // A failure is not kept: the same call made again is tried again, not answered with the old error.
        removeOnFail: true,
      });
      const result = await this.#wait(job.waitUntilFinished(this.queueEvents), options);
      this.#done++;
      this.#costUsd += result.costUsd;
      return { ...result, jobId: result.jobId ?? undefined, model: result.model ?? undefined, durationMs: performance.now() - started };
    } catch (error) {
      this.#failed++;
      throw toError(error);
    } finally {
      this.#running--;
    }
  }

  /** The job's outcome, unless the caller's signal or deadline comes first (the call runs on, on the workers). */
  #wait(finished: Promise<CallJobResult>, options: CallOptions | undefined): Promise<CallJobResult> {
    const signal = options?.signal;
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    if (!signal && timeoutMs === undefined) return finished;
    return new Promise<CallJobResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () =>
        reject(new AbortError('The call was aborted. It runs on in the queue: a worker may still create its job.', { cause: signal?.reason }));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined)
        timer = setTimeout(() => reject(new TimeoutError(`The call timed out after ${timeoutMs} ms; it runs on in the queue.`)), timeoutMs);
      finished.then(
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

  metrics(): ExecutorMetrics {
    return {
      queued: 0,
      running: this.#running,
      done: this.#done,
      failed: this.#failed,
      cached: 0,
      deduplicated: 0,
      retries: 0,
      jobs: 0,
      requests: 0,
      requestsPerJob: 0,
      rateLimited: 0,
      learnedRequestsPerMinute: undefined,
      latencyMs: { p50: 0, p95: 0, p99: 0, mean: 0 },
      concurrency: { limit: 0, effective: 0 },
      totals: { calls: this.#done, cachedCalls: 0, failedCalls: this.#failed, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: this.#costUsd },
      costUsd: this.#costUsd,
      byTag: {},
      budgetUsd: undefined,
      refusedAfterClose: 0,
      recovery: { resumed: 0, recreated: 0, storeErrors: 0 },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    await this.queueEvents.close();
    await this.queue.close();
    this.redis.disconnect();
  }

  async shutdown(): Promise<ShutdownReport> {
    this.#closed = true;
    const running = this.#running;
    await this.queueEvents.close();
    await this.queue.close();
    this.redis.disconnect();
    return { rejectedQueued: 0, finished: 0, abandoned: running, clean: running === 0 };
  }
}

/** A worker's failure, as the typed error it was there. */
function toError(error: unknown): Error {
  if (ShoalError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(message) as { code: ShoalErrorCode; message: string; jobId?: string };
    return new ShoalError(parsed.code, parsed.message, false, parsed.jobId ? { jobId: parsed.jobId } : {});
  } catch {
    return new ShoalError('INTERNAL', `The queue failed the call: ${message}`, false, { cause: error });
  }
}
