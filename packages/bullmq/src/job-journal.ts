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
  /** The jobs this worker holds (by BullMQ job id): its lock's token on each, and the entry read with it. */
  readonly #held = new Map<string, Held>();
  readonly #redis: Redis;
  readonly #jobKey: (jobId: string) => string;
  readonly #leftKey: (jobId: string) => string;

  /**
   * `jobKey`: a job's hash; `leftKey`: where an entry left open by a failed job of a request
   * waits for the next job of that request (the producer hands it over in the job's data).
   */
  constructor(redis: Redis, jobKey: (jobId: string) => string, leftKey: (jobId: string) => string) {
    this.#redis = redis;
    this.#jobKey = jobKey;
    this.#leftKey = leftKey;
    redis.defineCommand('shoalJournal', { numberOfKeys: 3, lua: WRITE });
    this.journal = {
      lookup: (jobId) => {
        const held = this.#held.get(jobId);
        const entry = held?.entry;
        if (held) held.entry = undefined;
        return entry;
      },
      intent: async (jobId, idempotencyKey) => {
        if ((await this.#write(jobId, 'intent', idempotencyKey)) === 0) {
          throw new Error(
            `this worker no longer holds job ${jobId} (its lock ran out, and another worker may have taken it over): nothing was sent. Give \`lockDurationMs\` more room if this worker's event loop stalls.`,
          );
        }
      },
      // Also after the job left this worker (a create answered after a hand-back): written next to the key of its intent.
      created: async (jobId, shortApiJobId) => {
        await this.#write(jobId, 'created', shortApiJobId);
      },
      // Provably no job (or a failed one): the entry is emptied, so a later taker sends the create as new.
      settle: async (jobId) => {
        const held = this.#held.get(jobId);
        // Nothing in the hash (no entry was read with the job, none written since): nothing to empty.
        if (held && !held.written) return;
        await this.#write(jobId, 'settle');
      },
    };
  }

  /**
   * A job this worker took (with its lock's token), its progress as BullMQ read it (the entry
   * a worker before it left, if any), and the entry a failed job of the same request left
   * (`left`, from the job's data), used when the job holds none of its own.
   */
  took(jobId: string, token: string, progress: unknown, left?: string): void {
    let entry = toEntry(jobId, progress);
    const fromLeft = entry === undefined && left !== undefined;
    if (fromLeft) entry = toEntry(jobId, parse(left));
    this.#held.set(jobId, { token, entry, written: entry !== undefined && !fromLeft, fromLeft });
  }

  /**
   * The call of a job ended on this worker. Its journal entry stays in the job; when the call
   * failed with the entry open (a job may exist unseen), the entry is kept for the request's
   * next job too, for a day. One that came from there is removed once its call succeeded.
   */
  async ended(jobId: string, token: string, outcome: 'succeeded' | 'failed' | 'handed back'): Promise<void> {
    const held = this.#held.get(jobId);
    if (held?.token !== token) return; // taken again meanwhile (its lock ran out): the new run's
    this.#held.delete(jobId);
    if (outcome === 'failed' && held.written) await this.#write(jobId, 'leave').catch(() => undefined);
    else if (outcome === 'succeeded' && held.fromLeft) await this.#redis.del(this.#leftKey(jobId)).catch(() => undefined);
  }

  // The connection is the worker's: it closes it.
  close(): void {}

  async #write(jobId: string, op: 'intent' | 'created' | 'settle' | 'leave', value = ''): Promise<number> {
    const key = this.#jobKey(jobId);
    const held = this.#held.get(jobId);
    // Until Redis answers, the progress may hold an entry.
    if (held && op !== 'leave') held.written = true;
    const done = await (this.#redis as Redis & JournalCommand).shoalJournal(key, `${key}:lock`, this.#leftKey(jobId), held?.token ?? '', op, value);
    if (held && op === 'settle' && done === 1) held.written = false;
    return done;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toEntry(jobId: string, progress: unknown): JournalEntry | undefined {
  const { k, j } = (typeof progress === 'object' && progress !== null ? progress : {}) as { k?: unknown; j?: unknown };
  return typeof k === 'string' && k !== '' ? { key: jobId, idempotencyKey: k, jobId: typeof j === 'string' && j !== '' ? j : undefined } : undefined;
}

interface Held {
  readonly token: string;
  /** What the job held when taken (or its request's left entry), until the executor looks it up. */
  entry: JournalEntry | undefined;
  /** Whether the job's progress may hold an entry (read with the job, or written since and not emptied). */
  written: boolean;
  /** The entry came from a failed job of the same request. */
  readonly fromLeft: boolean;
}

/**
 * KEYS: the job's hash, its lock, the request's left entry. ARGV: the lock token, the
 * operation, its value. An intent (the idempotency key) is written only while this worker
 * holds the job's lock (else it returns 0 and nothing is sent), and takes the request's left
 * entry's place; a settle only under the lock too (a worker that lost the job must not empty
 * the next one's entry). The ShortAPI job id is written only next to an intent that has none
 * yet (a late answer after a hand-back still counts; a stale worker cannot overwrite another's
 * job id), never to a job BullMQ removed. `leave` copies the entry for the request's next job.
 */
const WRITE = `
local op = ARGV[2]
if op == 'intent' or op == 'settle' then
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
  if op == 'settle' then
    redis.call('HDEL', KEYS[1], 'progress')
  else
    redis.call('HSET', KEYS[1], 'progress', cjson.encode({ k = ARGV[3] }))
    redis.call('DEL', KEYS[3])
  end
  return 1
end
local text = redis.call('HGET', KEYS[1], 'progress')
if not text then return 0 end
if op == 'leave' then
  redis.call('SET', KEYS[3], text, 'EX', 86400)
  return 1
end
local ok, entry = pcall(cjson.decode, text)
if not ok or type(entry) ~= 'table' or type(entry.k) ~= 'string' or entry.j ~= nil then return 0 end
entry.j = ARGV[3]
redis.call('HSET', KEYS[1], 'progress', cjson.encode(entry))
return 1
`;

type JournalCommand = {
  shoalJournal(key: string, lock: string, left: string, token: string, op: string, value: string): Promise<number>;
};
