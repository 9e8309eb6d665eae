import { picoToUsd } from '@shoal/core/internal';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect, describeConnection, type RedisConnection, ready } from './connection.js';
import { limitKey, statsKey } from './protocol.js';

/** The whole queue's totals, from every producer and worker: what waits, what runs, what was created and paid. */
export interface QueueStats {
  /** Calls waiting for a worker. */
  readonly waiting: number;
  /** Calls a worker holds. */
  readonly active: number;
  /** Jobs re-attached to by id: created by a worker that died, finished by another. No second job. */
  readonly resumed: number;
  /**
   * Creates sent again: a worker died after sending a create and before its job id was
   * written, so the server may hold a first job too (sent under the same idempotency key).
   */
  readonly recreated: number;
  /** Jobs created by the workers of the queue. */
  readonly jobs: number;
  /** What they were charged at their creates, summed in Redis in pico-dollars (the queue's ledger). */
  readonly costUsd: number;
  /** The request rate the workers' shared limit learnt from 429s (requests a minute), if it learnt one. */
  readonly learnedRequestsPerMinute: number | undefined;
}

/**
 * Books one job in the queue's ledger, once: a command whose answer a dropped connection
 * lost is sent again by ioredis after the reconnection, so the booking is keyed by the job's
 * id (a marker kept ten minutes, far longer than a reconnection takes).
 */
const BOOK = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 600) then
  redis.call('HINCRBY', KEYS[1], 'jobs', 1)
  redis.call('HINCRBY', KEYS[1], 'costPico', ARGV[1])
end
return 1
`;

/** Books a job the worker created, with its charge at the create in pico-dollars, in the queue's ledger (see BOOK). */
export function bookJob(redis: Redis, queue: string, jobId: string, pico: bigint): Promise<unknown> {
  const booking = redis as Redis & { shoalBook?: (stats: string, marker: string, pico: string) => Promise<unknown> };
  // Sent by its SHA (EVALSHA) once defined, not as the script's text every time.
  if (!booking.shoalBook) redis.defineCommand('shoalBook', { numberOfKeys: 2, lua: BOOK });
  return booking.shoalBook!(statsKey(queue), `${statsKey(queue)}:booked:${jobId}`, pico.toString());
}

/** The queue's totals, from Redis (every worker's counts). */
export async function queueStats(connection: RedisConnection, queue = 'shoal'): Promise<QueueStats> {
  const redis = connect(connection, 'queueStats()');
  const jobs = new Queue(queue, { connection: redis });
  try {
    await ready(redis, describeConnection(connection));
    return await readQueueStats(redis, jobs, queue);
  } finally {
    await jobs.close();
    redis.disconnect();
  }
}

/** The totals over a connection already open. */
async function readQueueStats(redis: Redis, jobs: Queue, queue: string): Promise<QueueStats> {
  const [counts, totals, learned] = await Promise.all([
    jobs.getJobCounts('wait', 'prioritized', 'delayed', 'active'),
    redis.hgetall(statsKey(queue)),
    redis.hget(limitKey(queue), 'learned'),
  ]);
  return {
    waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
    active: counts.active ?? 0,
    resumed: Number(totals.resumed ?? 0),
    recreated: Number(totals.recreated ?? 0),
    jobs: Number(totals.jobs ?? 0),
    costUsd: picoToUsd(BigInt(totals.costPico ?? '0')),
    learnedRequestsPerMinute: learned === null ? undefined : Number(learned) * 60,
  };
}
