import { type CallOptions, type CompletionResult, createExecutor, type Executor, type ExecutorOptions, ShoalConfigError } from '@shoal/core';
import { JOURNAL_KEY, type JournaledCallOptions, parseUsdToPico, refuseUnpricedBudget } from '@shoal/core/internal';
import { type Job, Worker } from 'bullmq';
import type { RedisConnection } from './connection.js';
import { HandBack, type WorkerCloseOptions, type WorkerCloseReport } from './hand-back.js';
import { JobJournalStore } from './job-journal.js';
import { type CallJobData, type CallJobResult, KEEP_RESULTS_SECONDS, leftEntryKey, limitKey, PROTOCOL_VERSION, shoalPriority, statsKey } from './protocol.js';
import { bookJob } from './queue-stats.js';
import { openQueue } from './registry.js';
import { cacheResult } from './result-cache.js';
import { SharedLimiter, type SharedLimitOptions } from './shared-limit.js';
import { encodeError } from './wire-error.js';
import { WorkerBudgets } from './worker-budget.js';

/**
 * Options of `startWorker()`: the executor's options (the provider, retries, rate limit, ...) less those that belong to the queue or the producer, plus the
 * queue's own.
 */
export interface WorkerOptions extends Omit<ExecutorOptions, 'store' | 'cache' | 'dedupe' | 'concurrency' | 'queue' | 'budgetUsd'> {
  /** Where Redis is: a `redis://` URL or ioredis options. */
  readonly connection: RedisConnection;
  /** The queue's name: producers and workers of one queue use the same. @default 'shoal' */
  readonly queue?: string;
  /** Calls this worker runs at once. @default 16 */
  readonly concurrency?: number;
  /**
   * How long a call stays this worker's without a renewed lock: a worker that dies
   * (SIGKILL) hands its calls to another one after about this long. @default 30000
   */
  readonly lockDurationMs?: number;
  /**
   * One rate limit for the account, shared by every worker of the queue (a bucket in Redis):
   * requests (creates and polls) and tokens per minute. Each worker also learns the server's
   * rate from its own 429s, and a Retry-After holds every worker. @default none
   */
  readonly sharedLimit?: SharedLimitOptions;
}

/** A running worker (from `startWorker()`). */
export interface ShoalWorker {
  /** The worker's own executor (the one that talks to the provider): metrics, events. */
  readonly executor: Executor;
  /**
   * Stops taking calls at once, lets the running ones finish until `deadlineMs` (30 s by
   * default), then hands the rest back to the queue, where another worker re-attaches to
   * their jobs; then closes. Says how many finished here, how many were handed back, and how
   * many were left to the stalled-job check (Redis away).
   */
  close(options?: WorkerCloseOptions): Promise<WorkerCloseReport>;
}

/**
 * A worker: takes calls from the queue and runs them through a shoal executor of its own
 * (the provider, retries, polling). Each call's journal entry lives in its BullMQ job
 * (job-journal.ts), and its result goes to the queue's result cache, which producers read.
 * A call another worker died in is taken over (BullMQ's stalled-job check) and re-attaches
 * to the job that worker created.
 */
export async function startWorker(options: WorkerOptions): Promise<ShoalWorker> {
  const { connection, queue = 'shoal', lockDurationMs = 30_000, concurrency = 16, sharedLimit, ...executorOptions } = options;
  if ((executorOptions as { budgetUsd?: unknown }).budgetUsd !== undefined) {
    // One worker's budget would fail every call it takes once spent, while others could run them: a budget belongs to the calls.
    throw new ShoalConfigError(
      'startWorker() takes no `budgetUsd`: a budget belongs to the calls, not to a worker. Give it to the producer, `bullmqExecutor({ budgetUsd })`: every worker then stops running its calls once it is spent.',
    );
  }
  for (const name of ['store', 'cache', 'dedupe'] as const) {
    if ((executorOptions as Record<string, unknown>)[name] !== undefined) {
      throw new ShoalConfigError(
        `startWorker() takes no \`${name}\`: the queue keeps the result cache (read by producers), each call's journal entry is in its job, and identical cached calls share one job.`,
      );
    }
  }
  if (typeof lockDurationMs !== 'number' || !(lockDurationMs >= 100)) {
    throw new ShoalConfigError(`Expected \`lockDurationMs\` to be a number from 100 up, got \`${String(lockDurationMs)}\`.`);
  }
  for (const name of ['requestsPerMinute', 'tokensPerMinute'] as const) {
    const value = sharedLimit?.[name];
    if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new ShoalConfigError(`Expected \`sharedLimit.${name}\` to be a number above 0, got \`${String(value)}\`.`);
    }
  }
  if (sharedLimit && sharedLimit.requestsPerMinute === undefined && sharedLimit.tokensPerMinute === undefined) {
    throw new ShoalConfigError(
      "`sharedLimit` takes `requestsPerMinute`, `tokensPerMinute` or both: with neither there is nothing to share (without `sharedLimit`, each worker learns the server's rate from its own 429s).",
    );
  }
  if (sharedLimit && (executorOptions.rateLimit || executorOptions.limiter)) {
    throw new ShoalConfigError('startWorker() takes `sharedLimit` (one limit for every worker) or `rateLimit` / `limiter` (this worker only), not both.');
  }
  if (typeof queue !== 'string' || queue.length === 0 || queue.includes(':')) {
    throw new ShoalConfigError(`Expected \`queue\` to be a name without ':' (BullMQ's separator), got ${JSON.stringify(queue)}.`);
  }
  // BullMQ's scripts, the journal, the ledger, the budgets, the limiter, the result cache: the commands of one tick leave in
  // one write (a job's id with its booking; a result cached with the finish of its job).
  // Refuses to start beside a live producer or worker that speaks another protocol version.
  const membership = await openQueue(connection, 'startWorker()', queue, 'worker', { oneWritePerTick: true });
  const { redis } = membership;
  const limiter = sharedLimit ? new SharedLimiter(redis, limitKey(queue), sharedLimit) : undefined;
  // Each call's journal entry lives in its BullMQ job (`bull:<queue>:<id>`, BullMQ's default prefix).
  const store = new JobJournalStore(
    redis,
    (id) => `bull:${queue}:${id}`,
    (id) => leftEntryKey(queue, id),
  );
  let executor: Executor;
  try {
    executor = createExecutor({
      ...executorOptions,
      ...(limiter ? { limiter } : {}),
      concurrency,
      store,
      // One BullMQ job, one ShortAPI job, each journaled in its own job: identical cached calls share a BullMQ job already.
      dedupe: false,
    });
  } catch (error) {
    // A bad option: nothing is left open, nor announced in the queue's peers.
    await membership.leave().catch(() => undefined);
    throw error;
  }
  // What happened to jobs other workers left, for the whole queue to see (queueStats()).
  const stats = statsKey(queue);
  const uncounted = () => undefined; // Redis away: the count is lost, the call goes on
  executor.events.on('job-resumed', () => void redis.hincrby(stats, 'resumed', 1).catch(uncounted));
  executor.events.on('job-recreated', () => void redis.hincrby(stats, 'recreated', 1).catch(uncounted));
  // The queue's ledger: every job created, and its charge as the server reported it at the create, in pico-dollars.
  executor.events.on('job-created', (event) => {
    const pico = event.amountUsd === undefined ? undefined : parseUsdToPico(event.amountUsd);
    void bookJob(redis, queue, event.jobId, pico ?? 0n).catch(() => undefined);
  });
  const budgets = new WorkerBudgets(redis, queue, executor);
  const handBack = new HandBack();
  let away = false;
  const call: CallRunner = {
    executor,
    budgets,
    handBack,
    store,
    cache(jobId, result) {
      cacheResult(redis, queue, jobId, result, (error) => {
        if (!away) console.warn(`shoal worker (queue "${queue}"): a result could not be cached (${error.message}); an identical call will make a job again.`);
      });
    },
  };
  const worker = new Worker<CallJobData, CallJobResult>(queue, (job, token) => handBack.run(job, token, () => run(call, job, token)), {
    // BullMQ blocks on a connection of its own (a duplicate of this one) while it waits for a job.
    connection: redis,
    concurrency,
    lockDuration: lockDurationMs,
    stalledInterval: Math.max(500, Math.floor(lockDurationMs / 2)),
    // A call may be handed over more than once (several workers killed in a row) before it fails as stalled.
    maxStalledCount: 10,
    // For every job (a producer's own keep time, when it has one, is in its jobs): a finished one is kept for identical
    // calls arriving late; a failure is not (the same call made again is tried again).
    removeOnComplete: { age: KEEP_RESULTS_SECONDS },
    removeOnFail: { count: 0 },
    autorun: true,
  });
  // BullMQ prints every connection error when nobody listens: once per outage here, said when Redis is back.
  worker.on('error', (error) => {
    if (away) return;
    away = true;
    console.warn(`shoal worker (queue "${queue}"): Redis connection lost (${error.message}); retrying.`);
  });
  redis.on('ready', () => {
    if (away) console.warn(`shoal worker (queue "${queue}"): Redis connection back.`);
    away = false;
  });
  await worker.waitUntilReady();
  return {
    executor,
    close: (closeOptions) => {
      budgets.close(); // calls waiting for room in their budget go back to the queue at once
      return handBack.close(
        {
          worker,
          shutdown: () => executor.shutdown({ deadlineMs: 0 }),
          wake: () => redis.zadd(worker.keys.marker!, 0, '0'),
          async release() {
            await executor.close();
            limiter?.close();
            // BullMQ leaves connections it was given open.
            await membership.leave();
          },
        },
        closeOptions,
      );
    },
  };
}

/** What runs a job's call: the worker's executor, its budgets, its close, the journal of its jobs, the result cache. */
interface CallRunner {
  readonly executor: Executor;
  readonly budgets: WorkerBudgets;
  readonly handBack: HandBack;
  readonly store: JobJournalStore;
  cache(jobId: string, result: CompletionResult): void;
}

async function run(runner: CallRunner, job: Job<CallJobData, CallJobResult>, token: string | undefined): Promise<CallJobResult> {
  const data = job.data;
  if (data.v !== PROTOCOL_VERSION) {
    throw new Error(
      encodeError(
        new ShoalConfigError(
          `The call was queued by a producer speaking shoal queue protocol ${data.v}; this worker speaks ${PROTOCOL_VERSION}. Run producers and workers of the same @shoal/bullmq version.`,
        ),
      ),
    );
  }
  const jobId = job.id!;
  const lock = token ?? '';
  // A worker before this one may have left the call's entry in the job's progress (or a failed job of its request, in its data).
  runner.store.took(jobId, lock, job.progress, data.left);
  let result: CompletionResult;
  // The call's journal entry is its job's (so it is kept whether the call is cached or not); the producer read the cache.
  const options: CallOptions & JournaledCallOptions = {
    priority: data.priority ?? shoalPriority(job.opts.priority),
    ...(data.tags ? { tags: data.tags } : {}),
    [JOURNAL_KEY]: jobId,
  };
  const start = () => runner.executor.complete(data.request, options);
  try {
    // A budget kept by unknown prices would not be kept: the call fails before anything is sent (as createExecutor refuses it).
    refuseUnpricedBudget(runner.executor, data.budget, 'A call of a producer budget (`bullmqExecutor({ budgetUsd })`) on this worker');
    // A call of a producer's budget waits for room in it (shared by every worker); one taken over from a worker that died was let in before.
    result = data.budget === undefined ? await start() : await runner.budgets.run(data.budget, jobId, start);
  } catch (error) {
    await runner.store.ended(jobId, lock, runner.handBack.takesBack(error) ? 'handed back' : 'failed');
    // The producer rebuilds the error from this (code, fault, retryability, what it carried).
    throw new Error(encodeError(error), { cause: error });
  }
  void runner.store.ended(jobId, lock, 'succeeded');
  if (data.cache !== false) runner.cache(jobId, result);
  return { ...result, jobId: result.jobId ?? null, model: result.model ?? null, callId: data.callId };
}
