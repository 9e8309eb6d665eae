import type { CachedCompletion, CacheStore, DurableStore, JobJournal, JournalEntry } from '@shoal/core';
import type { Redis } from 'ioredis';

export interface RedisStoreOptions {
  /** Key prefix, one per queue. @default 'shoal' */
  readonly prefix?: string;
  /** How long a finished result stays in the cache. @default 86400 (a day) */
  readonly cacheTtlSeconds?: number;
}

/** How long a journal entry read along with a cache miss waits for the lookup that follows it (the same flight, a tick later). */
const READ_AHEAD_MS = 1000;

/**
 * core's durable store on Redis: the result cache and the journal of jobs, shared by every
 * worker of a queue. A worker that takes over a call another one died in finds the
 * ShortAPI job id in the journal and re-attaches to it instead of creating a second job.
 * An intent is written (and acknowledged by Redis) before its create is sent. With
 * `appendonly yes`, Redis keeps it through a clean restart; through a crash only with
 * `appendfsync always` (`everysec` may lose the last second, and a create sent in it may
 * then be sent again under a new idempotency key, uncounted).
 *
 * Round trips: the executor reads the cache, then (on a miss) the journal, for the same
 * key; both are read in one pipeline. A result is cached and its journal entry closed in
 * one transaction, so the `settle` that follows it has nothing left to send.
 */
export function redisStore(redis: Redis, options: RedisStoreOptions = {}): DurableStore {
  const prefix = options.prefix ?? 'shoal';
  const ttl = options.cacheTtlSeconds ?? 86_400;
  const cacheKey = (key: string) => `${prefix}:cache:${key}`;
  const journalKey = (key: string) => `${prefix}:journal:${key}`;
  /** Journal entries read with a cache miss, for the lookup that follows (taken once; dropped if none comes). */
  const readAhead = new Map<string, { readonly entry: Record<string, string>; readonly at: number }>();
  /** Keys whose journal entry the cache write closed: their `settle` sends nothing. */
  const closed = new Set<string>();
  const toEntry = (key: string, entry: Record<string, string>): JournalEntry | undefined =>
    entry.idempotencyKey ? { key, idempotencyKey: entry.idempotencyKey, jobId: entry.jobId || undefined } : undefined;
  const cache: CacheStore = {
    async get(key) {
      const [[cacheError, text], [journalError, entry]] = (await redis.pipeline().get(cacheKey(key)).hgetall(journalKey(key)).exec()) as [
        [Error | null, string | null],
        [Error | null, Record<string, string>],
      ];
      if (cacheError) throw cacheError;
      if (text !== null) return JSON.parse(text) as CachedCompletion;
      if (!journalError) {
        const now = performance.now();
        for (const [k, v] of readAhead) {
          if (now - v.at < READ_AHEAD_MS) break; // oldest first: the rest are younger
          readAhead.delete(k);
        }
        readAhead.set(key, { entry, at: now });
      }
      return undefined;
    },
    async set(key, value) {
      await redis.multi().set(cacheKey(key), JSON.stringify(value), 'EX', ttl).del(journalKey(key)).exec();
      closed.add(key);
    },
    async delete(key) {
      await redis.del(cacheKey(key));
    },
  };
  const journal: JobJournal = {
    async lookup(key): Promise<JournalEntry | undefined> {
      const ahead = readAhead.get(key);
      if (ahead) {
        readAhead.delete(key);
        // Read a moment ago, with the cache: the executor holds the key meanwhile, so no other call of this worker wrote it.
        if (performance.now() - ahead.at < READ_AHEAD_MS) return toEntry(key, ahead.entry);
      }
      return toEntry(key, await redis.hgetall(journalKey(key)));
    },
    async intent(key, idempotencyKey) {
      closed.delete(key);
      await redis.multi().del(journalKey(key)).hset(journalKey(key), 'idempotencyKey', idempotencyKey).exec();
    },
    async created(key, jobId) {
      await redis.hset(journalKey(key), 'jobId', jobId);
    },
    async settle(key) {
      if (closed.delete(key)) return;
      await redis.del(journalKey(key));
    },
  };
  return {
    cache,
    journal,
    // The connection is the worker's: it closes it.
    close: () => undefined,
  };
}
