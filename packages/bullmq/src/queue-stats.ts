import { picoToUsd } from '@shoal/core/internal';
import { connect, describeConnection, type RedisConnection, ready } from './connection.js';
import { statsKey } from './protocol.js';

/** The queue's totals from every worker: jobs created and their charges, and what they did with jobs other workers left (killed mid-call). */
export interface QueueStats {
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
}

/** The queue's totals, from Redis (every worker's counts). */
export async function queueStats(connection: RedisConnection, queue = 'shoal'): Promise<QueueStats> {
  const redis = connect(connection, 'queueStats()');
  try {
    await ready(redis, describeConnection(connection));
    const counts = await redis.hgetall(statsKey(queue));
    return {
      resumed: Number(counts.resumed ?? 0),
      recreated: Number(counts.recreated ?? 0),
      jobs: Number(counts.jobs ?? 0),
      costUsd: picoToUsd(BigInt(counts.costPico ?? '0')),
    };
  } finally {
    redis.disconnect();
  }
}
