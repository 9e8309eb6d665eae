import { ExecutorClosedError, ShoalConfigError, type ShutdownReport } from '@shoal/core';
import { describeValue } from '@shoal/core/internal';
import { type Job, WaitingError, type Worker } from 'bullmq';

/** Options of `worker.close()`. */
export interface WorkerCloseOptions {
  /**
   * How long the calls running at the close may take to finish here; at the deadline, those
   * still running are handed back to the queue (to their place in its priority order), and
   * another worker takes them over, re-attaching to the jobs this one created. `Infinity`
   * waits for every call. @default 30000
   */
  readonly deadlineMs?: number;
}

/** What a worker's `close()` did with its calls. */
export interface WorkerCloseReport {
  /** Calls that ended on this worker after the close began, with a result or a final error. */
  readonly finished: number;
  /** Calls handed back to the queue at the deadline for another worker to finish: none created twice. */
  readonly handedBack: number;
  /**
   * Calls still held when Redis could not be reached to hand them back (within 5 s of the
   * deadline): their jobs stay active in Redis, and once their locks run out (`lockDurationMs`),
   * BullMQ's stalled-job check gives them to another worker, which re-attaches to their jobs.
   */
  readonly left: number;
}

/** How long, past the deadline, a close waits for Redis to take the calls back before it leaves them to the stalled-job check. */
const HAND_BACK_WAIT_MS = 5000;

/** Thrown by a call that should go back to the queue now, not fail (one waiting for room in its budget when the worker closes). */
export class HandBackNow extends Error {
  constructor() {
    super('The worker is closing: this call goes back to the queue.');
    this.name = 'HandBackNow';
  }
}

export interface HandBackParts {
  readonly worker: Worker;
  /** Stops the worker's executor at once (`shutdown({ deadlineMs: 0 })`): its running calls end with ExecutorClosedError. */
  readonly shutdown: () => Promise<ShutdownReport>;
  readonly wake: () => Promise<unknown>;
  /** Closes the executor and the connections, once every job is finished or handed back (or left, Redis away). */
  readonly release: () => Promise<void>;
}

/**
 * A worker's graceful close: it takes no job once the close begins, lets the calls in hand
 * run until the deadline, then stops its executor (which sends nothing more and leaves each
 * job's id in the journal) and moves every job still running back to the queue's waiting
 * list with its lock token. The job is neither failed nor counted as an attempt, keeps its
 * priority (BullMQ puts it first among its equals), and whichever worker takes it next finds
 * the ShortAPI job id in the journal and re-attaches to it.
 */
export class HandBack {
  #closing = false;
  /** Set at the deadline: resolves once the executor has stopped and nothing more is sent. */
  #stopped: Promise<unknown> | undefined;
  #finished = 0;
  #handedBack = 0;
  /** Calls whose run has begun and not ended. */
  #running = 0;
  /** Calls that could not be handed back (the lock lost): the stalled-job check hands them on. */
  #left = 0;
  #ended: Promise<WorkerCloseReport> | undefined;
  #wake: (() => Promise<unknown>) | undefined;

  /** Runs one job's call; one cut off by the deadline goes back to the queue instead of failing. */
  async run<R>(job: Job, token: string | undefined, call: () => Promise<R>): Promise<R> {
    this.#running++;
    try {
      const result = await call();
      if (this.#closing) this.#finished++;
      return result;
    } catch (error) {
      if (this.takesBack((error as Error).cause ?? error)) {
        await this.#stopped;
        await this.#giveBack(job, token);
        // Tells BullMQ the job has left the active list: not failed, no attempt counted.
        throw new WaitingError();
      }
      if (this.#closing) this.#finished++;
      throw error;
    } finally {
      this.#running--;
    }
  }

  /** Whether a call that ended with `error` goes back to the queue rather than failing: told to, or stopped by the close's deadline. */
  takesBack(error: unknown): boolean {
    return error instanceof HandBackNow || (this.#stopped !== undefined && ExecutorClosedError.isInstance(error));
  }

  async #giveBack(job: Job, token: string | undefined): Promise<void> {
    try {
      await job.moveToWait(token);
      this.#handedBack++;
      // Wakes the workers waiting for a job, as adding one does (BullMQ's move back to the waiting list does not).
      await this.#wake?.();
    } catch {
      // The lock is lost already (Redis away too long): BullMQ's stalled-job check hands the job on when it expires.
      this.#left++;
    }
  }

  /**
   * Closes `worker` (no new job at once; running ones may finish) and, past the deadline,
   * stops the executor with `shutdown()` so that the rest are handed back; `wake` tells the
   * other workers a job is waiting. Called twice, the second call joins the first.
   */
  close(parts: HandBackParts, options: WorkerCloseOptions = {}): Promise<WorkerCloseReport> {
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(new ShoalConfigError(`close() takes { deadlineMs? }, got ${describeValue(options)}.`));
    }
    const deadlineMs = options.deadlineMs ?? 30_000;
    if (typeof deadlineMs !== 'number' || !(deadlineMs >= 0)) {
      return Promise.reject(
        new ShoalConfigError(`Expected \`deadlineMs\` to be a number of milliseconds from 0 up (or Infinity), got ${describeValue(deadlineMs)}.`),
      );
    }
    this.#ended ??= this.#close(parts, deadlineMs);
    return this.#ended;
  }

  async #close({ worker, shutdown, wake, release }: HandBackParts, deadlineMs: number): Promise<WorkerCloseReport> {
    this.#closing = true;
    this.#wake = wake;
    const drained = worker.close();
    let stuck = 0;
    if (await lateBy(drained, deadlineMs)) {
      this.#stopped = shutdown();
      // Handing back needs Redis. While it is away, the calls still held are left as they are (active, their ShortAPI
      // jobs in their progress): the connections close, and the stalled-job check gives them on once their locks run out.
      if (await lateBy(drained, HAND_BACK_WAIT_MS)) stuck = this.#running;
    }
    const report = { finished: this.#finished, handedBack: this.#handedBack, left: this.#left + stuck };
    await release();
    return report;
  }
}

/** Whether `work` is still pending after `ms` (it is awaited either way only up to then). */
async function lateBy(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms === Number.POSITIVE_INFINITY) {
    await work;
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    work.then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.min(ms, 2 ** 31 - 1)))),
  ]);
  clearTimeout(timer);
  return late;
}
