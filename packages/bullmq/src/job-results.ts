import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CallJobData, CallJobResult } from './protocol.js';

/** The job is no longer in Redis: a failure removed at once, a result kept past its time, or a job a Redis restart lost. */
export class JobGoneError extends Error {
  constructor(jobId: string) {
    super(`The queue's job ${jobId} is gone from Redis before its result was read.`);
    this.name = 'JobGoneError';
  }
}

interface Waiter {
  readonly resolve: (result: CallJobResult) => void;
  readonly reject: (error: Error) => void;
}

/** How many jobs one pipeline of reads asks about. */
const CHECK_BATCH = 1000;

/**
 * Waits for the results of a producer's jobs. Results come from the queue's event stream
 * (QueueEvents, one listener for all jobs); the job itself is read once when the wait
 * begins (it may be over already) and again for every job still awaited whenever a
 * connection comes back after a drop. That second read is what keeps a call from waiting
 * forever when the stream cannot tell: a Redis restart, a completion trimmed from the
 * stream (it keeps about 10,000 events) while this process was away, or a job lost with the
 * last second of an `appendfsync everysec` file. A job found gone is reported as such (the
 * producer queues the call again).
 */
export class JobResults {
  readonly #waiting = new Map<string, Waiter[]>();
  readonly #release: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly queue: Queue<CallJobData, CallJobResult>,
    private readonly queueEvents: QueueEvents,
    connections: readonly Redis[],
  ) {
    const completed = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => this.#settle(jobId, returnvalue as CallJobResult);
    const failed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => this.#settle(jobId, new Error(failedReason));
    queueEvents.on('completed', completed);
    queueEvents.on('failed', failed);
    this.#release.push(() => queueEvents.off('completed', completed).off('failed', failed));
    for (const connection of connections) {
      let dropped = false;
      const onClose = () => (dropped = true);
      const onReady = () => {
        if (!dropped) return;
        dropped = false;
        void this.#check([...this.#waiting.keys()]);
      };
      connection.on('close', onClose).on('ready', onReady);
      this.#release.push(() => connection.off('close', onClose).off('ready', onReady));
    }
  }

  /** The job's result, or its failure as an Error carrying the worker's message, or JobGoneError. */
  async wait(jobId: string): Promise<CallJobResult> {
    const result = new Promise<CallJobResult>((resolve, reject) => {
      const waiters = this.#waiting.get(jobId);
      if (waiters) waiters.push({ resolve, reject });
      else this.#waiting.set(jobId, [{ resolve, reject }]);
    });
    // Once the stream is read, anything that happens to the job is seen; what happened before, the job itself tells.
    await this.queueEvents.waitUntilReady();
    await this.#check([jobId]);
    return result;
  }

  /** Reads the jobs still awaited among `jobIds` and settles those that are over or gone. */
  async #check(jobIds: readonly string[]): Promise<void> {
    for (let start = 0; start < jobIds.length; start += CHECK_BATCH) {
      const batch = jobIds.slice(start, start + CHECK_BATCH).filter((id) => this.#waiting.has(id));
      const pipeline = this.redis.pipeline();
      for (const id of batch) pipeline.hmget(this.queue.toKey(id), 'timestamp', 'finishedOn', 'returnvalue', 'failedReason');
      const answers = await pipeline.exec().catch(() => null);
      // Unanswered (the connection dropped again): the next reconnection reads them again.
      if (!answers) return;
      batch.forEach((id, i) => {
        const [error, fields] = answers[i] ?? [];
        if (error || !Array.isArray(fields)) return;
        const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
        if (timestamp === null) this.#settle(id, new JobGoneError(id));
        else if (finishedOn === null)
          return; // waiting or running: its event will come
        else if (failedReason !== null) this.#settle(id, new Error(failedReason));
        else this.#settle(id, JSON.parse(returnvalue ?? 'null') as CallJobResult);
      });
    }
  }

  #settle(jobId: string, outcome: CallJobResult | Error): void {
    const waiters = this.#waiting.get(jobId);
    if (!waiters) return;
    this.#waiting.delete(jobId);
    for (const waiter of waiters) {
      if (outcome instanceof Error) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  /** Stops listening; calls still waiting are ended by the producer's close. */
  close(): void {
    for (const release of this.#release) release();
    this.#waiting.clear();
  }
}
