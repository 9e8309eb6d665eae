import { shortApi } from '@shoal/core';
import { parseUsdToPico, picoToUsd } from '@shoal/core/internal';
import { startShortApiEmulator } from '@shoal/core/testing';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/until.js';
import { bullmqExecutor, startWorker } from '../src/index.js';
import { redisAvailable, startRedis } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp, untilAsync, writtenJobIds } from './setup.js';

cleanUpAfterEach();

describe.skipIf(!redisAvailable)('a budget and a call handed back', () => {
  it('finishes a call handed back after its create was paid, though that payment spent the budget: admitted once, not refused', async () => {
    const redis = await startRedis();
    onCleanUp(() => redis.close());
    // Jobs run until the test finishes them: the hand-back comes while the job is running.
    const emulator = await startShortApiEmulator({ latencyMs: Number.POSITIVE_INFINITY });
    onCleanUp(() => emulator.close());
    const queue = `budget-hand-back-${process.pid}`;
    const worker = () => startWorker({ connection: redis.url, queue, concurrency: 2, provider: shortApi({ baseURL: emulator.url, apiKey: emulator.apiKey }) });
    const finishAll = () => {
      for (const job of emulator.jobs) if (job.status < 2) emulator.finish(job.id);
    };
    // The price of one job, from a call without a budget.
    const free = await bullmqExecutor({ connection: redis.url, queue });
    onCleanUp(() => free.shutdown({ deadlineMs: 0 }));
    const first = await worker();
    const priced = free.complete({ prompt: 'the price' });
    await until(() => emulator.jobs.length === 1, 'the first job');
    finishAll();
    await priced;
    const price = parseUsdToPico(emulator.jobs[0]!.amountUsd)!;
    // A budget of exactly one job: the call's create spends it all.
    const producer = await bullmqExecutor({ connection: redis.url, queue, budgetUsd: picoToUsd(price) });
    onCleanUp(() => producer.shutdown({ deadlineMs: 0 }));
    const call = producer.complete({ prompt: 'handed back after its create' });
    const client = new Redis(redis.url);
    onCleanUp(async () => client.disconnect());
    // Its job's id is in the journal: the close hands the call back, and the next worker re-attaches to the job.
    await untilAsync(async () => {
      return (await writtenJobIds(client, queue)).length > 0 && emulator.jobs.length === 2;
    }, 'the job id written');
    expect(await first.close({ deadlineMs: 0 })).toEqual({ finished: 0, handedBack: 1, left: 0 });
    const second = await worker();
    onCleanUp(() => second.close({ deadlineMs: 0 }));
    const result = call.then(
      (r) => r,
      (e: unknown) => e,
    );
    await until(() => {
      finishAll();
      return emulator.jobs.every((job) => job.status === 2);
    }, 'every job finished');
    const outcome = await result;
    expect(outcome).not.toBeInstanceOf(Error);
    expect(emulator.stats().creates).toBe(2);
    expect(emulator.stats().duplicateCreates).toBe(0);
  });
});
