import { type CompletionResult, ShoalError } from '@shoal/core';
import { requestKey } from '@shoal/core/internal';
import { scriptedProvider } from '@shoal/core/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { bullmqExecutor, startWorker } from '../src/index.js';
import { bullPriority, jobIdFor } from '../src/protocol.js';
import { type RedisServer, redisAvailable, startRedis } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp, untilAsync } from './setup.js';

cleanUpAfterEach();

let queues = 0;

/** A redis-server, a queue name, a client for looking inside, and a producer whose batches hold at most `maxBatch` calls. */
async function start(maxBatch: number) {
  const server: RedisServer = await startRedis();
  onCleanUp(() => server.close());
  const queue = `batch-${process.pid}-${++queues}`;
  const redis = new Redis(server.url);
  onCleanUp(async () => redis.disconnect());
  const bull = new Queue(queue, { connection: { host: '127.0.0.1', port: server.port } });
  onCleanUp(() => bull.close());
  const executor = await bullmqExecutor({ connection: server.url, queue, maxBatch });
  onCleanUp(() => executor.shutdown({ deadlineMs: 2000 }));
  /** The queue's events so far, as `event jobId` lines. */
  const events = async () => (await redis.xrange(`bull:${queue}:events`, '-', '+')).map(([, fields]) => `${fields[1]} ${fields[3]}`);
  return { server, queue, redis, bull, executor, events };
}

/** A worker in this process whose provider answers `answer <prompt>` and records the prompts it is asked, in order. */
async function worker(url: string, queue: string) {
  const provider = scriptedProvider((request) => `answer ${request.prompt}`);
  const running = await startWorker({ connection: url, queue, provider, concurrency: 1 });
  onCleanUp(() => running.close());
  return provider;
}

const idOf = (prompt: string) => jobIdFor(requestKey('shoal.bullmq', { prompt }));

describe.skipIf(!redisAvailable)('the producer queues its calls in batches (addBulk)', () => {
  it('gives identical calls one job, in one batch, across batches and after it finished', async () => {
    const { server, queue, bull, executor, events } = await start(4);
    // Ten identical calls and two others in one tick: batches of 4, so the identical ones meet in a batch and across three.
    const same = Array.from({ length: 10 }, () => executor.complete({ prompt: 'the same' }));
    const others = [executor.complete({ prompt: 'other 1' }), executor.complete({ prompt: 'other 2' })];
    const id = idOf('the same');
    const adds = async () => (await events()).filter((e) => e === `added ${id}` || e === `duplicated ${id}`);
    await untilAsync(async () => (await adds()).length >= 10, 'ten adds of the same job');
    const ofSame = await adds();
    expect(ofSame.filter((e) => e.startsWith('added '))).toHaveLength(1);
    expect(ofSame.filter((e) => e.startsWith('duplicated '))).toHaveLength(9);
    expect(await bull.getJobCounts('prioritized')).toEqual({ prioritized: 3 });

    const provider = await worker(server.url, queue);
    const results: CompletionResult[] = await Promise.all(same);
    await Promise.all(others);
    expect(provider.calls.filter((r) => r.prompt === 'the same')).toHaveLength(1);
    expect(results.every((r) => r.text === 'answer the same')).toBe(true);
    // One call owned the job; the nine that joined it paid nothing.
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
    expect(results.filter((r) => r.deduplicated && r.costUsd === 0)).toHaveLength(9);

    // Made again once the job finished: answered from the queue's result cache (read before the add), no second job.
    const late = await executor.complete({ prompt: 'the same' });
    expect(late).toMatchObject({ text: 'answer the same', cached: true, deduplicated: false, costUsd: 0, attempts: 0 });
    expect(await bull.getJob(id)).toMatchObject({ returnvalue: { text: 'answer the same' } }); // the finished job, not added again
    expect(provider.calls.filter((r) => r.prompt === 'the same')).toHaveLength(1);
    expect(executor.metrics().done).toBe(13);
  });

  it("hands a failed job's open journal entry to the request's next job, and a cached result to its own caller only", async () => {
    const { server, redis, queue, bull, executor } = await start(4);
    // A create that may have made a job, left by a failed job of this request: the next job carries it to its worker.
    await redis.set(`shoal:${queue}:journal:${idOf('left')}`, '{"k":"idem-left"}');
    const call = executor.complete({ prompt: 'left' });
    await untilAsync(async () => (await bull.getJob(idOf('left'))) !== undefined, 'the job queued');
    expect((await bull.getJob(idOf('left')))!.data.left).toBe('{"k":"idem-left"}');
    // A cached result answers the call that read it, not the caller already waiting on the running job of that id.
    await redis.set(
      `shoal:${queue}:cache:${idOf('left')}`,
      JSON.stringify({ text: 'refreshed', usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0 } }),
    );
    expect(await executor.complete({ prompt: 'left' })).toMatchObject({ text: 'refreshed', cached: true });
    const provider = await worker(server.url, queue);
    expect(await call).toMatchObject({ text: 'answer left', cached: false });
    expect(provider.calls).toHaveLength(1);
  });

  it("keeps each call's priority: its job's, and the order the worker takes them in", async () => {
    const { server, queue, bull, executor } = await start(3);
    const priorities = [0, 5, -2, 5, 1, 0, 9, -2, 1];
    const calls = priorities.map((priority, i) => executor.complete({ prompt: `p${priority} #${i}` }, { priority }));
    await untilAsync(async () => (await bull.getJobCounts('prioritized')).prioritized === priorities.length, 'every call queued');
    for (const [i, priority] of priorities.entries()) {
      const job = await bull.getJob(idOf(`p${priority} #${i}`));
      expect(job?.opts.priority).toBe(bullPriority(priority));
      expect(job?.data).not.toHaveProperty('priority'); // a whole priority is read back from BullMQ's
    }
    // One worker taking one call at a time, all of them queued before it starts: higher first, first-in first-out within one.
    const provider = await worker(server.url, queue);
    await Promise.all(calls);
    const expected = priorities
      .map((priority, i) => ({ priority, i }))
      .sort((a, b) => b.priority - a.priority || a.i - b.i)
      .map(({ priority, i }) => `p${priority} #${i}`);
    expect(provider.calls.map((r) => r.prompt)).toEqual(expected);
  });

  it("breaks no call when a listener of the producer's events throws: each caller is answered, the error goes to listener-error", async () => {
    const { server, queue, executor } = await start(10);
    const reported: { event: string; error: unknown }[] = [];
    executor.events.on('call-end', () => {
      throw new Error('a listener broke');
    });
    executor.events.on('listener-error', (event) => reported.push(event));
    await worker(server.url, queue);
    const results = await Promise.all([executor.complete({ prompt: 'heard' }), executor.complete({ prompt: 'heard' })]);
    expect(results.map((r) => r.text)).toEqual(['answer heard', 'answer heard']);
    expect(reported.map((r) => [r.event, (r.error as Error).message])).toEqual([
      ['call-end', 'a listener broke'],
      ['call-end', 'a listener broke'],
    ]);
  });

  it('fails every call of a batch whose add Redis refused, with its error; the next batch goes through', async () => {
    const { server, queue, redis, executor } = await start(100);
    await redis.config('SET', 'maxmemory', '1'); // every write refused: OOM
    const refused = await Promise.all(Array.from({ length: 5 }, (_, i) => executor.complete({ prompt: `refused ${i}` }).catch((e: unknown) => e)));
    expect(refused.every((e) => ShoalError.isInstance(e) && e.code === 'INTERNAL' && /OOM command not allowed/.test(e.message))).toBe(true);
    expect(executor.metrics().failed).toBe(5);
    await redis.config('SET', 'maxmemory', '0');
    const provider = await worker(server.url, queue);
    const after = await executor.complete({ prompt: 'refused 0' });
    expect(after.text).toBe('answer refused 0');
    expect(provider.calls).toHaveLength(1);
  });
});
