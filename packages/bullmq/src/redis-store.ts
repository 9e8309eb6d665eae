import type { CachedCompletion, CacheStore, DurableStore, JobJournal, JournalEntry } from '@shoal/core';
import type { Redis } from 'ioredis';

export interface RedisStoreOptions {
  /** Key prefix, one per queue. @default 'shoal' */
  readonly prefix?: string;
  /** How long a finished result stays in the cache. @default 86400 (a day) */
  readonly cacheTtlSeconds?: number;
}

/**
 * core's durable store on Redis: the result cache and the journal of jobs, shared by every
 * worker of a queue. A worker that takes over a call another one died in finds the
 * ShortAPI job id in the journal and re-attaches to it instead of creating a second job.
 * An intent is written (and acknowledged by Redis) before its create is sent. With
 * `appendonly yes`, Redis keeps it through a clean restart; through a crash only with
 * `appendfsync always` (`everysec` may lose the last second, and a create sent in it may
 * then be sent again under a new idempotency key, uncounted).
 */
export function redisStore(redis: Redis, options: RedisStoreOptions = {}): DurableStore {
  const prefix = options.prefix ?? 'shoal';
  const ttl = options.cacheTtlSeconds ?? 86_400;
  const cacheKey = (key: string) => `${prefix}:cache:${key}`;
  const journalKey = (key: string) => `${prefix}:journal:${key}`;
  const cache: CacheStore = {
    async get(key) {
      const text = await redis.get(cacheKey(key));
      return text === null ? undefined : (JSON.parse(text) as CachedCompletion);
    },
    async set(key, value) {
      await redis.set(cacheKey(key), JSON.stringify(value), 'EX', ttl);
    },
    async delete(key) {
      await redis.del(cacheKey(key));
    },
  };
  const journal: JobJournal = {
    async lookup(key): Promise<JournalEntry | undefined> {
      const entry = await redis.hgetall(journalKey(key));
      if (!entry.idempotencyKey) return undefined;
      return { key, idempotencyKey: entry.idempotencyKey, jobId: entry.jobId || undefined };
    },
    async intent(key, idempotencyKey) {
      await redis.multi().del(journalKey(key)).hset(journalKey(key), 'idempotencyKey', idempotencyKey).exec();
    },
    async created(key, jobId) {
      await redis.hset(journalKey(key), 'jobId', jobId);
    },
    async settle(key) {
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
