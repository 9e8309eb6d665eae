import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { AddBatcher, type AddBatcherOptions, type AddOutcomes, type Finished, type QueuedJob } from './add-batcher.js';
import type { CallJobData, CallJobResult } from './protocol.js';

/** A call waiting for a job. */
export interface JobWaiter {
  /** The job's result. */
  done(result: CallJobResult): void;
  /** Its failure: the worker's error as BullMQ's failedReason, or Redis's refusal of the add. */
  failed(error: unknown): void;
  /** The job is no longer in Redis, its result unread (a Redis restart lost it): the call is to be queued again. */
  gone(): void;
}

/** How many jobs one pipeline of reads asks about. */
const CHECK_BATCH = 1000;

/**
 * A producer's calls waiting for their jobs: one map from job id to the calls that wait on
 * it. Results come from the queue's event stream (QueueEvents, one listener for all jobs).
 * A call waits from before its job is added, so no event of its job can come unseen; a job
 * that had finished already when the call joined it answers from what it left, and a cached
 * call from the cache (both read just before the add, AddBatcher). Every job still awaited is read again whenever a connection comes
 * back after a drop: that keeps a call from waiting forever when the stream cannot tell (a
 * Redis restart, a completion trimmed from the stream, which keeps about 10,000 events,
 * while this process was away, a job lost with the last second of an `appendfsync everysec`
 * file). A job found gone is handed back to its calls to be queued again.
 * (BullMQ's `job.waitUntilFinished()` costs a round trip and a listener on the Queue per
 * call, removed in linear time: a million waiting calls would take hours to end.)
 */
export class JobResults {
  readonly #waiting = new Map<string, JobWaiter | JobWaiter[]>();
  readonly #adds: AddBatcher;
  readonly #release: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly queue: Queue<CallJobData, CallJobResult>,
    queueEvents: QueueEvents,
    connections: readonly Redis[],
    options: AddBatcherOptions = {},
  ) {
    const outcomes: AddOutcomes = {
      added: (job, _waiter, finished) => {
        if (finished) this.#settle(job.id, finished);
      },
      cached: (job, waiter, result) => {
        this.#remove(job.id, waiter);
        waiter.done(result);
      },
      refused: (job, waiter, error) => {
        this.#remove(job.id, waiter);
        waiter.failed(error);
      },
    };
    this.#adds = new AddBatcher(queue, redis, outcomes, options);
    const completed = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => this.#settle(jobId, { result: returnvalue as CallJobResult });
    const failed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => this.#settle(jobId, { failedReason });
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

  /** Queues the call's job (or joins the one of its id); `waiter` hears what becomes of it. */
  run(job: QueuedJob, waiter: JobWaiter): void {
    this.#add(job.id, waiter);
    this.#adds.add(job, waiter);
  }

  /** Stops listening; calls still waiting are ended by the producer's close. */
  close(): void {
    for (const release of this.#release) release();
    this.#waiting.clear();
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
        const [timestamp, finishedOn, returnvalue, failedReason] = fields as [string | null, string | null, string | null, string | null];
        if (timestamp === null) this.#gone(id);
        else if (finishedOn === null)
          return; // waiting or running: its event will come
        else if (failedReason !== null) this.#settle(id, { failedReason });
        else this.#settle(id, { result: JSON.parse(returnvalue ?? 'null') as CallJobResult });
      });
    }
  }

  #add(id: string, waiter: JobWaiter): void {
    const present = this.#waiting.get(id);
    if (present === undefined) this.#waiting.set(id, waiter);
    else if (Array.isArray(present)) present.push(waiter);
    else this.#waiting.set(id, [present, waiter]);
  }

  #remove(id: string, waiter: JobWaiter): void {
    const present = this.#waiting.get(id);
    if (present === waiter) this.#waiting.delete(id);
    else if (Array.isArray(present)) {
      const rest = present.filter((w) => w !== waiter);
      if (rest.length === 0) this.#waiting.delete(id);
      else this.#waiting.set(id, rest.length === 1 ? rest[0]! : rest);
    }
  }

  #take(id: string): JobWaiter[] {
    const present = this.#waiting.get(id);
    if (present === undefined) return [];
    this.#waiting.delete(id);
    return Array.isArray(present) ? present : [present];
  }

  #settle(id: string, finished: NonNullable<Finished>): void {
    for (const waiter of this.#take(id)) {
      if ('result' in finished) waiter.done(finished.result);
      else waiter.failed(new Error(finished.failedReason));
    }
  }

  #gone(id: string): void {
    for (const waiter of this.#take(id)) waiter.gone();
  }
}
