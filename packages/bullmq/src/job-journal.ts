import type { DurableStore, JobJournal, JournalEntry } from '@shoal/core';
import type { Redis } from 'ioredis';

/**
 * The journal of a worker's calls, kept in each call's own BullMQ job, as its `progress`
 * (`{ k, j }`): `k`, the idempotency key of a create about to be sent (written, and
 * acknowledged by Redis, before it is sent), and `j`, the ShortAPI job's id once the create
 * answered. (BullMQ hands a worker only the fields it knows with a job; the progress is one,
 * and only `job.updateProgress()`, which shoal does not call, writes it.) The worker's
 * executor names each call's entry by its BullMQ job id (`JOURNAL_KEY`), so every call is
 * journaled, cached or not, and a call handed back or taken over finds its own job.
 *
 * It costs little: a worker reads the entry with the job it takes (BullMQ's move to active
 * returns the whole hash), writes the intent and the job id, and never deletes it: the entry
 * goes with its job when BullMQ removes it. With `appendonly yes`, Redis keeps it through a
 * clean restart; through a crash only with `appendfsync always` (`everysec` may lose the
 * last second, and a create sent in it may then be sent again under a new idempotency key,
 * uncounted).
 */
export class JobJournalStore implements DurableStore {
  readonly journal: JobJournal;
  /** Entries read with the jobs this worker holds (by BullMQ job id), with the token of its lock on each. */
  readonly #held = new Map<string, Held>();

  constructor(redis: Redis, jobKey: (jobId: string) => string) {
    redis.defineCommand('shoalJournal', { numberOfKeys: 2, lua: WRITE });
    const write = (jobId: string, op: 'intent' | 'created' | 'settle', value = ''): Promise<number> => {
      const key = jobKey(jobId);
      const held = this.#held.get(jobId);
      if (held) held.written = true;
      const token = held?.token ?? '';
      return (redis as Redis & JournalCommand).shoalJournal(key, `${key}:lock`, token, op, value);
    };
    const progress = (fields: { k: string | undefined; j?: string }) => JSON.stringify(fields);
    this.journal = {
      lookup: (jobId) => {
        const held = this.#held.get(jobId);
        const entry = held?.entry;
        if (held) held.entry = undefined;
        return entry;
      },
      intent: async (jobId, idempotencyKey) => {
        const held = this.#held.get(jobId);
        if (held) held.idempotencyKey = idempotencyKey;
        if ((await write(jobId, 'intent', progress({ k: idempotencyKey }))) === 0) {
          throw new Error(
            `this worker no longer holds job ${jobId} (its lock ran out, and another worker may have taken it over): nothing was sent. Give \`lockDurationMs\` more room if this worker's event loop stalls.`,
          );
        }
      },
      created: async (jobId, shortApiJobId) => {
        await write(jobId, 'created', progress({ k: this.#held.get(jobId)?.idempotencyKey, j: shortApiJobId }));
      },
      // Provably no job (or a failed one): the entry is emptied, so a later taker sends the create as new.
      settle: async (jobId) => {
        const held = this.#held.get(jobId);
        // Nothing in the hash (no entry was read with the job, none written since): nothing to empty.
        if (held && !held.written) return;
        await write(jobId, 'settle');
      },
    };
  }

  /** A job this worker took (with its lock's token), and its progress as BullMQ read it: the entry a worker before it left, if any. */
  took(jobId: string, token: string, progress: unknown): void {
    const { k, j } = (typeof progress === 'object' && progress !== null ? progress : {}) as { k?: unknown; j?: unknown };
    const entry = typeof k === 'string' && k !== '' ? { key: jobId, idempotencyKey: k, jobId: typeof j === 'string' && j !== '' ? j : undefined } : undefined;
    this.#held.set(jobId, { token, entry, written: entry !== undefined, idempotencyKey: entry?.idempotencyKey });
  }

  /** The job is no longer this worker's (finished, failed or handed back). */
  released(jobId: string): void {
    this.#held.delete(jobId);
  }

  // The connection is the worker's: it closes it.
  close(): void {}
}

interface Held {
  readonly token: string;
  /** What the job's progress held when taken, until the executor looks it up. */
  entry: JournalEntry | undefined;
  /** Whether the progress holds an entry (read with the job, or written since). */
  written: boolean;
  /** The idempotency key of the entry, for the job id's write. */
  idempotencyKey: string | undefined;
}

/**
 * KEYS: the job's hash and its lock. ARGV: the lock token, the operation, the progress to write. An
 * intent is written only while this worker holds the job's lock (else it returns 0 and
 * nothing is sent); the job id and the settle only to a job still in Redis (never a stray
 * hash for a job BullMQ removed).
 */
const WRITE = `
if ARGV[2] == 'intent' then
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[2] == 'settle' then
  redis.call('HDEL', KEYS[1], 'progress')
else
  redis.call('HSET', KEYS[1], 'progress', ARGV[3])
end
return 1
`;

type JournalCommand = { shoalJournal(key: string, lock: string, token: string, op: string, value: string): Promise<number> };
