import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobWaiter } from './job-results.js';
import { type CallJobData, type CallJobResult, leftEntryKey } from './protocol.js';
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
  /** Batches sent at once (each reads the cache, then adds); more wait their turn, so a burst of calls does not hold the event loop. @default 4 */
  readonly maxInFlight?: number;
}

/**
 * KEYS: per job, its hash, its result-cache key (the hash again for a call that does not read
 * the cache, ARGV '0') and its request's left journal entry (job-journal.ts). Returns, for
 * each job that is cached, has finished or has a left entry, its index (from 1) and: 'c' and
 * the cached entry; 'f', its returnvalue and its failedReason ('' when absent); or 'l' and the
 * entry: one reply for a whole batch. The cache comes first (a refreshed answer replaces the
 * one a finished job still holds).
 */
const FINISHED = `
local out = {}
local function answer(i, kind, value, reason)
  out[#out + 1] = i
  out[#out + 1] = kind
  out[#out + 1] = value
  out[#out + 1] = reason
end
for i = 1, #ARGV do
  local hit = ARGV[i] == '1' and redis.call('GET', KEYS[3 * i - 1]) or false
  if hit then
    -- An entry that cannot be read is a miss.
    local ok, entry = pcall(cjson.decode, hit)
    if not ok or type(entry) ~= 'table' or type(entry.text) ~= 'string' or type(entry.usage) ~= 'table' then hit = false end
  end
  if hit then
    answer(i, 'c', hit, '')
  else
    local f = redis.call('HMGET', KEYS[3 * i - 2], 'finishedOn', 'returnvalue', 'failedReason')
    if f[1] then
      answer(i, 'f', f[2] or '', f[3] or '')
    else
      local left = redis.call('GET', KEYS[3 * i])
      if left then answer(i, 'l', left, '') end
    end
  end
end
return out
`;

type FinishedCommand = { shoalFinished(numberOfKeys: number, ...keysThenArgs: string[]): Promise<(number | string)[]> };

/** Told, for each call, when Redis holds its job (with what the job had become already), or that the add failed. */
export interface AddOutcomes {
  added(job: QueuedJob, waiter: JobWaiter, finished: Finished): void;
  /** The call's result was in the queue's result cache: no job was added for it. */
  cached(job: QueuedJob, waiter: JobWaiter, result: CallJobResult): void;
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
    this.#maxInFlight = options.maxInFlight ?? 4;
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
      keys.push(hash, cached ? resultCacheKey(this.queue.name, job.id) : hash, leftEntryKey(this.queue.name, job.id));
      reads.push(cached ? '1' : '0');
    }
    let answer: (number | string)[];
    try {
      // First what is cached or finished already; then only the other calls are queued (a cached call makes no job).
      answer = await (this.redis as Redis & FinishedCommand).shoalFinished(keys.length, ...keys, ...reads);
    } catch (error) {
      for (const { job, waiter } of batch) this.outcomes.refused(job, waiter, error);
      return;
    }
    const finished = new Map<number, NonNullable<Finished>>();
    const left = new Map<number, string>();
    const hits = new Set<number>();
    for (let i = 0; i < answer.length; i += 4) {
      const at = Number(answer[i]) - 1;
      const kind = answer[i + 1] as string;
      const value = answer[i + 2] as string;
      if (kind === 'c') {
        // Answered at once, this call alone (others waiting on the same id may pay for a job of their own); it makes no job.
        hits.add(at);
        this.outcomes.cached(batch[at]!.job, batch[at]!.waiter, cachedResult(value));
      } else if (kind === 'f') {
        finished.set(at, value === '' ? { failedReason: (answer[i + 3] as string) || 'the job failed' } : { result: JSON.parse(value) as CallJobResult });
      } else left.set(at, value);
    }
    const toAdd: Entry[] = [];
    batch.forEach((entry, i) => {
      if (hits.has(i)) return;
      const leftEntry = left.get(i);
      toAdd.push(leftEntry === undefined ? entry : { ...entry, job: { ...entry.job, data: { ...entry.job.data, left: leftEntry } } });
    });
    try {
      if (toAdd.length > 0) await this.queue.addBulk(toAdd.map(({ job }) => ({ name: 'call', data: job.data, opts: job.opts })));
    } catch (error) {
      for (const { job, waiter } of toAdd) this.outcomes.refused(job, waiter, error);
      return;
    }
    batch.forEach(({ job, waiter }, i) => {
      if (!hits.has(i)) this.outcomes.added(job, waiter, finished.get(i));
    });
  }
}
