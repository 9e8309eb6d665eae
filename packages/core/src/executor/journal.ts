import { provesNoJob, ShoalConfigError, type ShoalError, StoreError } from '../errors.js';
import { describeValue } from '../util/describe.js';
import type { CacheStore } from './cache.js';

/**
 * The journal of jobs: what a run started, so that the same run started again after a
 * crash re-attaches to jobs already created instead of paying for them twice.
 *
 * One entry per request key (the cache key), or per call for a call that names its own
 * (`JOURNAL_KEY`). The executor writes, in this order:
 * `intent` before a create is sent, `created` as soon as the create has answered with a
 * job id, and `settle` once the entry is of no more use (the result is in the cache, the
 * job failed, or provably no job was made). An entry left open when a process dies tells
 * the next run what to do with that request:
 *
 * - with a job id: wait for that job by id (no create);
 * - without one (an intent): the create may or may not have reached the server. It is sent
 *   again under the same idempotency key, and counted (`metrics().recovery.recreated`,
 *   event `job-recreated`), never hidden.
 *
 * Methods may answer synchronously or with a promise. A promise from `intent` must resolve
 * only once the entry is durable (at least written to the operating system), since the
 * create is sent right after. The journal never receives the API key, headers or prompts:
 * keys are SHA-256 hashes of the request.
 */
export interface JobJournal {
  /** The open entry for `key`, if any: read before a call's first create. */
  lookup(key: string): JournalEntry | undefined | Promise<JournalEntry | undefined>;
  /** Records that a create is about to be sent under `idempotencyKey`; durable before it resolves. */
  intent(key: string, idempotencyKey: string): void | Promise<void>;
  /** Records the job id the create answered with. */
  created(key: string, jobId: string): void | Promise<void>;
  /** Closes the entry: the result is cached, the job failed, or provably no job was made. */
  settle(key: string): void | Promise<void>;
  /** Entries still open, for reports (what a crashed run left). */
  pending?(): readonly JournalEntry[] | Promise<readonly JournalEntry[]>;
}

/** One open entry of the journal: a create sent (or about to be), and its job once known. */
export interface JournalEntry {
  /** The request key (`requestKey(model, request)`, a SHA-256), or the call's own `JOURNAL_KEY`. */
  readonly key: string;
  /** The idempotency key the create was, or was about to be, sent with. */
  readonly idempotencyKey: string;
  /** Known once the create answered; undefined for an intent whose answer never got recorded. */
  readonly jobId: string | undefined;
}

/**
 * A persistent store for an executor: a result cache and a journal of jobs, closed with
 * the executor. `sqliteStore()` from `@shoal/store-sqlite` is one. A store without a
 * `cache` keeps no results: its journal then holds only the calls that name a journal key
 * of their own (`JOURNAL_KEY`, in `@shoal/core/internal`: `@shoal/bullmq`'s workers, one
 * entry per queued job).
 */
export interface DurableStore {
  /** The result cache, in place of the executor's `cache` option; without one, no results are kept. */
  readonly cache?: CacheStore;
  /** The journal of jobs. */
  readonly journal: JobJournal;
  /** Writes what is pending and releases the file. Called once, by `executor.close()` or `shutdown()`. */
  close(): void | Promise<void>;
}

export function checkDurableStore(store: unknown): DurableStore {
  const s = store as Partial<DurableStore> | null;
  const ok =
    typeof s === 'object' &&
    s !== null &&
    typeof s.close === 'function' &&
    (s.cache === undefined || (typeof s.cache?.get === 'function' && typeof s.cache?.set === 'function')) &&
    ['lookup', 'intent', 'created', 'settle'].every((m) => typeof (s.journal as unknown as Record<string, unknown> | undefined)?.[m] === 'function');
  if (!ok) {
    throw new ShoalConfigError(
      `Expected \`store\` to be a durable store with \`journal\`, \`close()\` and (usually) \`cache\`, such as \`sqliteStore('./run.db')\` from @shoal/store-sqlite; got ${describeValue(store)}.`,
    );
  }
  return s as DurableStore;
}

/**
 * A call option (internal: `@shoal/core/internal`) naming the journal entry of the call, in
 * place of its request key: for a call that is one job of a queue elsewhere (`@shoal/bullmq`
 * passes the BullMQ job's id), so that the process taking the job over finds the ShortAPI
 * job of that call, cached or not. Journaled whenever the executor has a store.
 */
export const JOURNAL_KEY: unique symbol = Symbol('shoal.journalKey');

/** Call options with a journal key of their own (`JOURNAL_KEY`). */
export interface JournaledCallOptions {
  readonly [JOURNAL_KEY]?: string;
}

/** What a flight knows about its job, for the journal: nothing sent, maybe a job, or a job for sure. */
type JobState = 'none' | 'maybe' | 'job';

/**
 * One flight's use of the journal. The executor tells it what happens (a create is about to
 * be sent, a job was created, no job was made, the job is gone) and, at the end, it leaves
 * the entry open only while a job may exist whose result nobody has: that is what a later
 * run needs to see.
 */
export class JournalSession {
  #state: JobState = 'none';
  /** The state before the last intent, for a create that was then not sent. */
  #beforeIntent: JobState = 'none';
  #writes: Promise<unknown>[] = [];
  /** The idempotency key of the entry (an earlier run's, or this flight's last intent). */
  #idempotencyKey: string | undefined;

  constructor(
    readonly journal: JobJournal,
    readonly key: string,
    readonly onStoreError: (error: unknown) => void,
  ) {}

  /** What an earlier run left for this key, if anything. A failing lookup is taken as nothing found. */
  async lookup(): Promise<JournalEntry | undefined> {
    try {
      const entry = await this.journal.lookup(this.key);
      if (entry) {
        this.#state = entry.jobId === undefined ? 'maybe' : 'job';
        this.#idempotencyKey = entry.idempotencyKey;
      }
      return entry;
    } catch (error) {
      this.onStoreError(error);
      return undefined;
    }
  }

  /** Before a create is sent: throws a StoreError when the intent could not be recorded (nothing is sent then). */
  async beforeCreate(idempotencyKey: string): Promise<void> {
    this.#beforeIntent = this.#state;
    try {
      await this.journal.intent(this.key, idempotencyKey);
    } catch (error) {
      this.onStoreError(error);
      throw new StoreError(`The journal could not record a create before sending it, so nothing was sent: ${messageOf(error)}`, { cause: error });
    }
    this.#state = 'maybe';
    this.#idempotencyKey = idempotencyKey;
  }

  /** The create whose intent was just recorded was not sent after all (its callers left, or a shutdown began). */
  withdraw(): void {
    this.#state = this.#beforeIntent;
  }

  created(jobId: string): void {
    this.#state = 'job';
    this.#track(() => this.journal.created(this.key, jobId));
  }

  /** A create, or the wait for a job, ended in an error: what is left to wait for? */
  afterError(error: ShoalError): void {
    if (error.code === 'JOB_FAILED') {
      this.#state = 'none'; // over, and paid: nothing to wait for
    } else if (error.jobId !== undefined && this.#state === 'job' && JOB_GONE.has(error.code) && !error.retryable) {
      // A final answer to a query of this job id (unknown to the server, a non-zero code): the
      // id is of no more use, and an entry holding it would fail every rerun the same way. The
      // entry goes back to an intent, so the next run creates the job again and counts it as
      // re-created (metrics().recovery.recreated). Under a new idempotency key: a server that
      // honours keys would otherwise hand back the dead job.
      this.#state = 'maybe';
      const idempotencyKey = this.#idempotencyKey === undefined ? undefined : `${this.#idempotencyKey}.gone`;
      this.#idempotencyKey = idempotencyKey;
      if (idempotencyKey !== undefined) this.#track(() => this.journal.intent(this.key, idempotencyKey));
    } else if (provesNoJob(error) && this.#state === 'maybe') {
      // An answer that proves no job was made (429, 5xx, refused before sending, a 4xx naming no job) leaves nothing either.
      this.#state = 'none';
    }
    // Anything else keeps the state.
  }

  /** The result is known (and cached by the executor when it could). */
  succeeded(): void {
    this.#state = 'none';
  }

  /** Waits for this flight's writes and closes the entry unless a job may still run unseen. */
  async end(): Promise<void> {
    if (this.#state === 'none') this.#track(() => this.journal.settle(this.key));
    const writes = this.#writes;
    this.#writes = [];
    await Promise.all(writes);
  }

  #track(write: () => void | Promise<void>): void {
    try {
      const pending = write();
      if (pending !== undefined) this.#writes.push(Promise.resolve(pending).catch(this.onStoreError));
    } catch (error) {
      this.onStoreError(error);
    }
  }
}

/**
 * Final errors of a query that make a job id useless: the server does not know it, or
 * answers it with an error code (A10). An answer of an unreadable shape is not one: the job
 * may be fine, and a rerun reads it again at no cost.
 */
const JOB_GONE = new Set<string>(['JOB_NOT_FOUND', 'API_ERROR']);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
