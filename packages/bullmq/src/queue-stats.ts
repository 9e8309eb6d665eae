import { connect, describeConnection, type RedisConnection, ready } from './connection.js';
import { statsKey } from './protocol.js';

/** What the workers of a queue did with jobs that other workers left (killed mid-call). */
export interface QueueStats {
  /** Jobs re-attached to by id: created by a worker that died, finished by another. No second job. */
  readonly resumed: number;
  /**
   * Creates sent again: a worker died after sending a create and before its job id was
   * written, so the server may hold a first job too (sent under the same idempotency key).
   */
  readonly recreated: number;
}

/** The queue's totals, from Redis (every worker's counts). */
export async function queueStats(connection: RedisConnection, queue = 'shoal'): Promise<QueueStats> {
  const redis = connect(connection, 'queueStats()');
  try {
    await ready(redis, describeConnection(connection));
    const counts = await redis.hgetall(statsKey(queue));
    return { resumed: Number(counts.resumed ?? 0), recreated: Number(counts.recreated ?? 0) };
  } finally {
    redis.disconnect();
  }
}
