import { JobFailedError, RetriesExhaustedError, type ShoalError } from '@shoal/core';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/until.js';
import { queueStats } from '../src/index.js';
import { redisAvailable } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp, setup, writtenJobIds } from './setup.js';

cleanUpAfterEach();

describe.skipIf(!redisAvailable)('@shoal/bullmq: producers and worker processes on one Redis queue', () => {
  it('runs every call of a producer on two worker processes, each job created once', async () => {
    const { emulator, redis, queue, spawnOne, producer } = await setup({ latencyMs: { min: 5, max: 30 } });
    await Promise.all([spawnOne(), spawnOne()]);
    const executor = await producer();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => executor.complete({ prompt: `call ${i}` }, { priority: i % 3 })));
    expect(results).toHaveLength(200);
    expect(results.every((r) => typeof r.text === 'string' && r.text.length > 0 && r.jobId !== undefined)).toBe(true);
    expect(emulator.stats().jobs).toBe(200);
    expect(emulator.stats().duplicateCreates).toBe(0);
    expect(executor.metrics().done).toBe(200);
    // The queue's ledger in Redis: every job, booked at its create by whichever worker made it, to the pico-dollar.
    const stats = await queueStats(redis.url, queue);
    expect(stats.jobs).toBe(200);
    const billed = emulator.jobs.reduce((sum, job) => sum + Number(job.amountUsd), 0);
    expect(stats.costUsd).toBeCloseTo(billed, 12);
    expect(executor.metrics().costUsd).toBeCloseTo(billed, 12);
  });

  it('gives two producers sending the same prompts at once one job per prompt', async () => {
    const { emulator, spawnOne, producer } = await setup({ latencyMs: 50 });
    await Promise.all([spawnOne(), spawnOne()]);
    const [a, b] = await Promise.all([producer(), producer()]);
    const prompts = Array.from({ length: 500 }, (_, i) => `same ${i}`);
    const [fromA, fromB] = await Promise.all([
      Promise.all(prompts.map((prompt) => a.complete({ prompt }))),
      Promise.all(prompts.map((prompt) => b.complete({ prompt }))),
    ]);
    expect(fromA.map((r) => r.text)).toEqual(fromB.map((r) => r.text));
    expect(emulator.stats().jobs).toBe(500);
    expect(emulator.stats().creates).toBe(500);
    // Each job paid once: of every pair of identical calls, one owned the job and the other joined it (cost 0).
    expect(a.metrics().deduplicated + b.metrics().deduplicated).toBe(500);
    const billed = emulator.jobs.reduce((sum, job) => sum + Number(job.amountUsd), 0);
    expect(a.metrics().costUsd + b.metrics().costUsd).toBeCloseTo(billed, 12);
  });

  it("answers a call again from the finished job, and asks the model again for `cache: 'refresh'`", async () => {
    const { emulator, spawnOne, producer } = await setup({ latencyMs: 5 });
    await spawnOne();
    const executor = await producer();
    const first = await executor.complete({ prompt: 'asked twice' });
    const again = await executor.complete({ prompt: 'asked twice' });
    expect(again.text).toBe(first.text);
    expect(again.costUsd).toBe(0); // the first call's job answered it: paid once
    expect(emulator.stats().jobs).toBe(1);
    await executor.complete({ prompt: 'asked twice' }, { cache: 'refresh' });
    expect(emulator.stats().jobs).toBe(2);
  });

  it('keeps every worker of the queue under one shared requests-per-minute limit: no 429 from a server that takes twice that', async () => {
    // The server takes 10 requests a second (a sliding window); the workers share 5 a second (300 a minute, a burst of
    // one second's worth), so no second ever sees more than 10. Each worker alone could send 16 creates at once.
    const { emulator, spawnOne, producer } = await setup({ latencyMs: 50, rpsLimit: 10 });
    await Promise.all([spawnOne({ requestsPerMinute: 300 }), spawnOne({ requestsPerMinute: 300 })]);
    const executor = await producer();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => executor.complete({ prompt: `paced ${i}` })));
    expect(results).toHaveLength(12);
    expect(emulator.stats().jobs).toBe(12);
    expect(emulator.stats().rateLimited).toBe(0);
  });

  it("passes a worker's typed error back to the caller, and does not keep it: the same call made again is tried again", async () => {
    const { emulator, spawnOne, producer } = await setup({ latencyMs: 5, rules: [{ match: 'broken', reply: { fail: 'the model backend failed' } }] });
    await spawnOne();
    const executor = await producer();
    const first = await executor.complete({ prompt: 'broken call' }).catch((e: unknown) => e);
    expect(first).toSatisfy(RetriesExhaustedError.isInstance);
    const { errors } = first as RetriesExhaustedError;
    // Every attempt's error came across, each with its own code and fault; the whole takes the last one's fault.
    expect(errors.length).toBeGreaterThan(1);
    expect(errors.every((e) => JobFailedError.isInstance(e) && e.jobId !== undefined)).toBe(true);
    expect((first as ShoalError).fault).toBe(errors.at(-1)!.fault);
    expect((first as Error).message).toMatch(/failed on the server/);
    const jobsAfterFirst = emulator.stats().jobs;
    expect(jobsAfterFirst).toBeGreaterThan(0);
    await executor.complete({ prompt: 'broken call' }).catch((e: unknown) => e);
    expect(emulator.stats().jobs).toBeGreaterThan(jobsAfterFirst);
  });

  it('hands the calls of a worker killed with SIGKILL to another, which re-attaches to their jobs: none created twice', async () => {
    const { emulator, redis, queue, spawnOne, producer } = await setup({ latencyMs: 1500 });
    const doomed = await spawnOne({ lockMs: 3000 });
    await spawnOne({ lockMs: 3000 });
    const executor = await producer();
    const calls = Array.from({ length: 24 }, (_, i) => executor.complete({ prompt: `long ${i}` }));
    // Kill one worker once both hold eight jobs whose ids are written in the journal (the other eight calls wait for a slot).
    const journal = new Redis(redis.url);
    onCleanUp(async () => journal.disconnect());
    const written = async () => (await writtenJobIds(journal, queue)).length;
    let jobIdsWritten = 0;
    let asking = false;
    await until(() => {
      if (!asking) {
        asking = true;
        void written().then((n) => {
          jobIdsWritten = n;
          asking = false;
        });
      }
      return jobIdsWritten >= 16;
    }, 'sixteen job ids in the journal');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const results = await Promise.all(calls);
    expect(results).toHaveLength(24);
    // Every job the dead worker had created was re-attached to by the other, not created again.
    const stats = await queueStats(redis.url, queue);
    expect(stats.resumed).toBeGreaterThanOrEqual(1);
    // A create the killed worker had sent but whose id it had not written yet (under load, its ninth) is sent again, and counted.
    expect(emulator.stats().duplicateCreates).toBeLessThanOrEqual(stats.recreated);
    expect(emulator.stats().jobs).toBeGreaterThanOrEqual(24);
    expect(emulator.stats().jobs).toBeLessThanOrEqual(24 + stats.recreated);
  });
});
