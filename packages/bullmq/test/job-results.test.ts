import { scriptedProvider } from '@shoal/core/testing';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { bullmqExecutor, startWorker } from '../src/index.js';
import type { CallJobData, CallJobResult } from '../src/protocol.js';
import { type RedisServer, redisAvailable, startRedis } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp } from './setup.js';

let queues = 0;
cleanUpAfterEach();

/** A producer with no worker yet, and a second connection to play what the producer could not see. */
async function setup() {
  const server: RedisServer = await startRedis();
  onCleanUp(() => server.close());
  const queue = `results-${process.pid}-${++queues}`;
  const client = new Redis(server.url);
  onCleanUp(async () => client.disconnect());
  const bull = new Queue<CallJobData, CallJobResult>(queue, { connection: client });
  const producer = await bullmqExecutor({ connection: server.url, queue });
  onCleanUp(() => producer.shutdown({ deadlineMs: 0 }));
  /** The one job of the queue, once the producer has added it. */
  const queued = async (): Promise<Job<CallJobData, CallJobResult>> => {
    for (let i = 0; i < 20_000; i++) {
      const [job] = await bull.getJobs(['prioritized', 'wait']);
      if (job) return job;
    }
    throw new Error('the producer added no job');
  };
  /** Drops every connection but this test's own, as a Redis restart or a network cut would. */
  const dropConnections = () => client.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  return { server, queue, client, bull, producer, queued, dropConnections };
}

describe.skipIf(!redisAvailable)('@shoal/bullmq: after a dropped connection, a producer reads its jobs again', () => {
  it('gets a result whose event it never saw (the completion happened while the event stream could not tell it)', async () => {
    const { client, bull, producer, queued, dropConnections } = await setup();
    const call = producer.complete({ prompt: 'answered unseen' }, { timeoutMs: 60_000 });
    const job = await queued();
    const result: CallJobResult = {
      text: 'answered while the producer was away',
      jobId: 'server-job-1',
      model: null,
      usage: { inputTokens: 3, outputTokens: 5, cachedInputTokens: 0 },
      costUsd: 0.001,
      attempts: 1,
      cached: false,
      deduplicated: false,
      durationMs: 5,
      requests: 2,
      callId: job.data.callId,
    };
    // What a worker's completion leaves in Redis, without its event in the stream.
    const now = Date.now();
    await client
      .multi()
      .zrem(bull.keys.prioritized!, job.id!)
      .lrem(bull.keys.wait!, 0, job.id!)
      .zadd(bull.keys.completed!, now, job.id!)
      .hset(bull.toKey(job.id!), 'returnvalue', JSON.stringify(result), 'finishedOn', now)
      .exec();
    await dropConnections();
    expect(await call).toMatchObject({ text: 'answered while the producer was away', costUsd: 0.001, deduplicated: false });
  });

  it('queues a call again whose job is gone from Redis (lost with the last second of an everysec file), and a worker then runs it', async () => {
    const { server, queue, producer, queued, dropConnections } = await setup();
    const call = producer.complete({ prompt: 'lost in a restart' }, { timeoutMs: 60_000 });
    const lost = await queued();
    await lost.remove();
    await dropConnections();
    const again = await queued();
    expect(again.id).toBe(lost.id);
    const worker = await startWorker({ connection: server.url, queue, provider: scriptedProvider([{ reply: 'run after all' }]) });
    onCleanUp(() => worker.close());
    expect((await call).text).toBe('run after all');
  });
});
