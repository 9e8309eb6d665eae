import { type CompletionResult, type Executor, shortApi } from '@shoal/core';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/until.js';
import { bullmqExecutor, queueStats, type ShoalWorker, startWorker } from '../src/index.js';
import { bullPriority } from '../src/protocol.js';
import { type RedisServer, redisAvailable, startRedis } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp, untilAsync, writtenJobIds } from './setup.js';
import { spawnWorker, type WorkerProcess } from './workers.js';

let queues = 0;
cleanUpAfterEach();

/** Redis, an emulator whose jobs run until the test finishes them, a producer, and a way to start workers in this process. */
async function setup() {
  const redis: RedisServer = await startRedis();
  onCleanUp(() => redis.close());
  const emulator: ShortApiEmulator = await startShortApiEmulator({ latencyMs: Number.POSITIVE_INFINITY });
  onCleanUp(() => emulator.close());
  const queue = `close-${process.pid}-${++queues}`;
  const client = new Redis(redis.url);
  onCleanUp(async () => client.disconnect());
  const bull = new Queue(queue, { connection: client });
  const worker = async (concurrency: number): Promise<ShoalWorker> => {
    const started = await startWorker({
      connection: redis.url,
      queue,
      concurrency,
      lockDurationMs: 60_000, // nothing here is handed on by the stalled-job check: only by the close
      provider: shortApi({ baseURL: emulator.url, apiKey: emulator.apiKey }),
    });
    onCleanUp(() => started.close({ deadlineMs: 0 }));
    return started;
  };
  const producer: Executor = await bullmqExecutor({ connection: redis.url, queue });
  onCleanUp(() => producer.shutdown({ deadlineMs: 0 }));
  /** Job ids written in the queue's journal (a worker's jobs, created and recorded). */
  const written = async () => (await writtenJobIds(client, queue)).length;
  /** Checks `ready` (a Redis read) until it holds, without sleeping; fails after `tries`. */
  const eventually = async (ready: () => Promise<boolean>, what: string, tries = 20_000) => {
    for (let i = 0; i < tries; i++) if (await ready()) return;
    throw new Error(`${what} did not happen after ${tries} checks`);
  };
  /** Finishes every job running on the emulator, until every call has its result. */
  const finishAll = async (calls: Promise<CompletionResult>[]) => {
    let settled = 0;
    for (const call of calls) void call.finally(() => settled++).catch(() => undefined);
    await until(() => {
      for (const job of emulator.jobs) if (job.status < 2) emulator.finish(job.id);
      return settled === calls.length;
    }, 'every call settled');
    return Promise.all(calls);
  };
  return { redis, emulator, queue, client, bull, worker, producer, written, eventually, finishAll };
}

describe.skipIf(!redisAvailable)('@shoal/bullmq: a worker closes gracefully, finishing or handing back its calls', () => {
  it('hands the calls still running at the deadline back to the queue, with their priority; another worker re-attaches to their jobs', async () => {
    const { emulator, redis, queue, client, bull, worker, producer, written, eventually, finishAll } = await setup();
    const first = await worker(4);
    // Six calls, priorities 0 to 5: the worker runs the four highest (5, 4, 3, 2), two wait in the queue.
    const calls = Array.from({ length: 6 }, (_, i) => producer.complete({ prompt: `held ${i}` }, { priority: i }));
    await eventually(async () => (await written()) === 4, 'four job ids in the journal');
    await client.del(bull.keys.marker!); // gone as if a waiting worker had taken it: the close must set it again
    const report = await first.close({ deadlineMs: 20 });
    expect(report).toEqual({ finished: 0, handedBack: 4, left: 0 });
    // Back in the queue, not failed and not active, each with its BullMQ priority.
    const counts = await bull.getJobCounts('prioritized', 'active', 'failed', 'completed');
    expect(counts).toEqual({ prioritized: 6, active: 0, failed: 0, completed: 0 });
    const jobs = await bull.getJobs(['prioritized']);
    expect(jobs.map((job) => job.priority).sort()).toEqual(jobs.map((job) => bullPriority(Number(job.data.request.prompt.slice('held '.length)))).sort());
    expect(jobs.every((job) => job.attemptsMade === 0)).toBe(true);
    // Workers waiting for a job are woken (BullMQ's marker), as when a job is added.
    expect(await client.zscore(bull.keys.marker!, '0')).toBe('0');
    expect(emulator.stats().creates).toBe(4);

    await worker(8);
    const results = await finishAll(calls);
    expect(results.map((r) => r.text.length > 0)).toEqual(Array(6).fill(true));
    expect(emulator.stats().creates).toBe(6);
    expect(emulator.stats().duplicateCreates).toBe(0);
    const stats = await queueStats(redis.url, queue);
    expect(stats).toMatchObject({ resumed: 4, recreated: 0, jobs: 6 });
  });

  it('finishes every running call on the closing worker when the deadline allows, and takes no new one meanwhile', async () => {
    const { emulator, bull, worker, producer, written, eventually, finishAll } = await setup();
    const first = await worker(4);
    const calls = Array.from({ length: 6 }, (_, i) => producer.complete({ prompt: `finished ${i}` }, { priority: i }));
    await eventually(async () => (await written()) === 4, 'four job ids in the journal');
    const closing = first.close({ deadlineMs: 600_000 });
    for (const job of emulator.jobs) emulator.finish(job.id);
    expect(await closing).toEqual({ finished: 4, handedBack: 0, left: 0 });
    // The two calls that were waiting are waiting still: the closing worker took neither.
    expect(await bull.getJobCounts('prioritized', 'active', 'completed')).toEqual({ prioritized: 2, active: 0, completed: 4 });
    expect(emulator.stats().creates).toBe(4);

    await worker(4);
    const results = await finishAll(calls);
    expect(results).toHaveLength(6);
    expect(emulator.stats().creates).toBe(6);
    expect(emulator.stats().duplicateCreates).toBe(0);
  });

  it('re-attaches every call handed back after its create, cached or not: one job per call, a refresh beside its request a job of its own', async () => {
    const { emulator, redis, queue, worker, producer, written, eventually, finishAll } = await setup();
    const first = await worker(4);
    // The same request three ways: cached, without the cache, and asking for a new answer: three BullMQ jobs, three ShortAPI jobs.
    const calls = [
      producer.complete({ prompt: 'same' }),
      producer.complete({ prompt: 'same' }, { cache: false }),
      producer.complete({ prompt: 'same' }, { cache: 'refresh' }),
    ];
    await eventually(async () => (await written()) === 3, 'three job ids in the journal');
    expect(await first.close({ deadlineMs: 0 })).toEqual({ finished: 0, handedBack: 3, left: 0 });
    await worker(4);
    const results = await finishAll(calls);
    expect(results.map((r) => r.cached)).toEqual([false, false, false]);
    expect(new Set(results.map((r) => r.jobId)).size).toBe(3);
    expect(emulator.stats()).toMatchObject({ creates: 3, duplicateCreates: 0 });
    expect(await queueStats(redis.url, queue)).toMatchObject({ resumed: 3, recreated: 0, jobs: 3 });
    // Made again, the request is answered from the queue's result cache; without the cache, it is a new job.
    expect(await producer.complete({ prompt: 'same' })).toMatchObject({ cached: true, costUsd: 0 });
    const uncached = producer.complete({ prompt: 'same' }, { cache: false });
    expect((await finishAll([uncached]))[0]!.cached).toBe(false);
    expect(emulator.stats().creates).toBe(4);
  });

  it('closes within its bound while Redis is away, leaving the calls it holds to the stalled-job check; another worker re-attaches to them', async () => {
    const redis = await startRedis({ appendOnly: true });
    onCleanUp(() => redis.close());
    const emulator = await startShortApiEmulator({ latencyMs: Number.POSITIVE_INFINITY });
    onCleanUp(() => emulator.close());
    const queue = `close-away-${process.pid}`;
    const client = new Redis(redis.url).on('error', () => undefined); // away for a while: its retries are expected
    onCleanUp(async () => client.disconnect());
    // A short lock: the stalled-job check hands the calls on about a second after Redis is back.
    const worker = () =>
      startWorker({
        connection: redis.url,
        queue,
        concurrency: 2,
        lockDurationMs: 1000,
        provider: shortApi({ baseURL: emulator.url, apiKey: emulator.apiKey }),
      });
    const first = await worker();
    const producer = await bullmqExecutor({ connection: redis.url, queue });
    onCleanUp(() => producer.shutdown({ deadlineMs: 0 }));
    const calls = [producer.complete({ prompt: 'away 1' }), producer.complete({ prompt: 'away 2' })];
    await untilAsync(async () => (await writtenJobIds(client, queue)).length === 2, 'two job ids in their jobs');
    await redis.stop('SIGTERM'); // written out to its append-only file
    expect(await first.close({ deadlineMs: 0 })).toEqual({ finished: 0, handedBack: 0, left: 2 });

    await redis.start();
    const second = await worker();
    onCleanUp(() => second.close({ deadlineMs: 0 }));
    await untilAsync(async () => (await queueStats(redis.url, queue)).resumed === 2, 'both jobs re-attached to');
    for (const job of emulator.jobs) emulator.finish(job.id);
    expect((await Promise.all(calls)).map((r) => r.text.length > 0)).toEqual([true, true]);
    expect(emulator.stats()).toMatchObject({ creates: 2, duplicateCreates: 0 });
  });

  it('shoal-worker: SIGTERM hands back what the deadline leaves and exits 0; a second signal stops at once', async () => {
    const { emulator, redis, queue, producer, written, eventually, finishAll } = await setup();
    const spawn = (shutdownMs: number): Promise<WorkerProcess> =>
      spawnWorker({ redis: redis.url, queue, baseURL: emulator.url, apiKey: emulator.apiKey, concurrency: 3, lockMs: 1000, shutdownMs }).then((worker) => {
        onCleanUp(async () => {
          worker.child.kill('SIGKILL');
          await worker.exited;
        });
        return worker;
      });
    const graceful = await spawn(50);
    const calls = Array.from({ length: 3 }, (_, i) => producer.complete({ prompt: `signalled ${i}` }));
    await eventually(async () => (await written()) === 3, 'three job ids in the journal');
    graceful.child.kill('SIGTERM');
    expect(await graceful.exited).toBe(0);
    expect(graceful.output()).toContain('closed: 0 calls finished here, 3 handed back to the queue');

    // The next worker takes the three back; asked twice to stop, it stops at once, leaving them to the stalled-job check.
    const impatient = await spawn(600_000);
    await eventually(async () => (await queueStats(redis.url, queue)).resumed === 3, 'three jobs re-attached to');
    impatient.child.kill('SIGTERM');
    await until(() => impatient.output().includes('taking no more calls'), 'the first signal taken');
    impatient.child.kill('SIGTERM');
    expect(await impatient.exited).toBe(128 + 15);
    expect(impatient.output()).toContain('SIGTERM again: stopping now');

    await spawn(50);
    const results = await finishAll(calls);
    expect(results).toHaveLength(3);
    expect(emulator.stats().creates).toBe(3);
    expect(emulator.stats().duplicateCreates).toBe(0);
    expect((await queueStats(redis.url, queue)).recreated).toBe(0);
  });
});
