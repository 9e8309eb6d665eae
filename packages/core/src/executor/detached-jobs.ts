/**
 * Jobs whose callers all stopped waiting (a timeout, an abort, a shutdown) after the job
 * was created: the job runs on, and is paid for. When the same request is made again in
 * this process, the new call re-attaches to the job by id instead of creating a second
 * one, and the ledger, which booked the job when it was created, does not book it again.
 * Keyed by the flight's request key; bounded, oldest first out.
 */
export interface DetachedJob {
  readonly jobId: string;
  /** What the ledger has booked for this job so far, in pico-USD. */
  readonly bookedPico: bigint;
}

export class DetachedJobs {
  readonly #jobs = new Map<string, DetachedJob>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  get size(): number {
    return this.#jobs.size;
  }

  remember(key: string, job: DetachedJob): void {
    this.#jobs.delete(key);
    this.#jobs.set(key, job);
    if (this.#jobs.size > this.#max) this.#jobs.delete(this.#jobs.keys().next().value!);
  }

  /** The job left for this request, if any; it is handed over once. */
  take(key: string): DetachedJob | undefined {
    const job = this.#jobs.get(key);
    if (job !== undefined) this.#jobs.delete(key);
    return job;
  }
}
