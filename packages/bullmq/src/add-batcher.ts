import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobWaiter } from './job-results.js';
import type { CallJobData, CallJobResult } from './protocol.js';
import { cachedResult, resultCacheKey } from './result-cache.js';

/** One call's job, as the producer queues it. */
export interface QueuedJob {
  /** BullMQ's job id: identical calls carry the same one and share the job. */
  readonly id: string;
  readonly data: CallJobData;
  readonly opts: JobsOptions;
}

/** What the job of that id had become already when the call was queued: finished (its result or failure), or not (undefined). */
export type Finished = { readonly result: CallJobResult } | { readonly failedReason: string } | undefined;

export interface AddBatcherOptions {
  /**
   * Jobs per `addBulk` (one pipeline to Redis). Small enough that a batch's garbage dies
   * young (a million calls queue faster in batches of 200 than of 1,000). @default 200
   */
  readonly maxBatch?: number;
  /** Batches sent at once; more wait their turn, so a burst of calls does not hold the event loop. @default 2 */
  readonly maxInFlight?: number;
}

/**
 * KEYS: per job, its hash and its result-cache key (the hash again for a call that does not
 * read the cache, ARGV '0'). Returns, for each job that is cached or has finished, its index
 * (from 1), 'c' and the cached entry, or 'f', its returnvalue and its failedReason ('' when
 * absent): one reply for a whole batch. The cache comes first (a refreshed answer replaces
 * the one a finished job still holds).
 */
const FINISHED = `
local out = {}
for i = 1, #ARGV do
  local hit = ARGV[i] == '1' and redis.call('GET', KEYS[2 * i]) or false
  if hit then
    out[#out + 1] = i
    out[#out + 1] = 'c'
    out[#out + 1] = hit
    out[#out + 1] = ''
  else
    local f = redis.call('HMGET', KEYS[2 * i - 1], 'finishedOn', 'returnvalue', 'failedReason')
    if f[1] then
      out[#out + 1] = i
      out[#out + 1] = 'f'
      out[#out + 1] = f[2] or ''
      out[#out + 1] = f[3] or ''
    end
  end
end
return out
`;

type FinishedCommand = { shoalFinished(numberOfKeys: number, ...keysThenArgs: string[]): Promise<(number | string)[]> };

/** Told, for each call, when Redis holds its job (with what the job had become already), or that the add failed. */
export interface AddOutcomes {
  added(job: QueuedJob, waiter: JobWaiter, finished: Finished): void;
  refused(job: QueuedJob, waiter: JobWaiter, error: unknown): void;
}

interface Entry {
  readonly job: QueuedJob;
  readonly waiter: JobWaiter;
}

/**
 * Queues the jobs of the calls made in one tick with one `queue.addBulk` (up to `maxBatch`
 * each): a million calls made at once cost thousands of round trips to Redis, not a million.
 * Identical calls share one job as before (an add with an existing id joins it, in a batch
 * or across batches). Alongside each batch one script reads which of its jobs had finished
 * already (a call that joins a finished job takes its result). An add that fails fails
 * every call of its batch, with Redis's error.
 */
export class AddBatcher {
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #pending: Entry[] = [];
  #scheduled = false;
  /** Batches cut and waiting for a slot. */
  readonly #ready: Entry[][] = [];
  #inFlight = 0;

  constructor(
    private readonly queue: Queue<CallJobData, CallJobResult>,
    private readonly redis: Redis,
    private readonly outcomes: AddOutcomes,
    options: AddBatcherOptions = {},
  ) {
    this.#maxBatch = options.maxBatch ?? 200;
    this.#maxInFlight = options.maxInFlight ?? 2;
    redis.defineCommand('shoalFinished', { lua: FINISHED });
  }

  /** Queues the job (or joins the one of the same id); `outcomes` hears when Redis holds it. */
  add(job: QueuedJob, waiter: JobWaiter): void {
    this.#pending.push({ job, waiter });
    if (this.#pending.length >= this.#maxBatch) this.#cut();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      // After this tick's other calls (and their microtasks): they go in the same batch.
      setImmediate(() => {
        this.#scheduled = false;
        this.#cut();
      });
    }
  }

  #cut(): void {
    if (this.#pending.length === 0) return;
    this.#ready.push(this.#pending);
    this.#pending = [];
    this.#next();
  }

  #next(): void {
    while (this.#inFlight < this.#maxInFlight && this.#ready.length > 0) {
      const batch = this.#ready.shift()!;
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#next();
      });
    }
  }

  async #send(batch: Entry[]): Promise<void> {
    const keys: string[] = [];
    const reads: string[] = [];
    for (const { job } of batch) {
      const hash = this.queue.toKey(job.id);
      const cached = job.data.cache === undefined || job.data.cache === true;
      keys.push(hash, cached ? resultCacheKey(this.queue.name, job.id) : hash);
      reads.push(cached ? '1' : '0');
    }
    try {
      // First what is cached or finished already; then only the other calls are queued (a cached call makes no job).
      const answer = await (this.redis as Redis & FinishedCommand).shoalFinished(keys.length, ...keys, ...reads);
      const found = new Map<number, NonNullable<Finished>>();
      for (let i = 0; i < answer.length; i += 4) {
        const kind = answer[i + 1] as string;
        const value = answer[i + 2] as string;
        const failedReason = answer[i + 3] as string;
        found.set(
          Number(answer[i]) - 1,
          kind === 'c'
            ? { result: cachedResult(value) }
            : value === ''
              ? { failedReason: failedReason || 'the job failed' }
              : { result: JSON.parse(value) as CallJobResult },
        );
      }
      const toAdd = batch.filter((_, i) => {
        const known = found.get(i);
        return !(known && 'result' in known && known.result.cached);
      });
      if (toAdd.length > 0) await this.queue.addBulk(toAdd.map(({ job }) => ({ name: 'call', data: job.data, opts: job.opts })));
      batch.forEach(({ job, waiter }, i) => this.outcomes.added(job, waiter, found.get(i)));
    } catch (error) {
      for (const { job, waiter } of batch) this.outcomes.refused(job, waiter, error);
    }
  }
}
