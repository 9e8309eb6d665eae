import { type CompletionResult, ShoalError } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/until.js';
import { bullmqExecutor, queueStats } from '../src/index.js';
import { redisAvailable, startRedis } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp } from './setup.js';
import { spawnWorker } from './workers.js';

cleanUpAfterEach();

const CALLS = 300;

describe.skipIf(!redisAvailable)('@shoal/bullmq: a queue survives a Redis restart (append-only file on)', () => {
  // A clean restart (SIGTERM: Redis writes its file out) keeps everything with `everysec`, the recommended setting; a
  // crash (SIGKILL) keeps every acknowledged write only with `always` (with `everysec` it may lose the last second).
  it.each([
    ['a clean restart', 'SIGTERM', 'everysec'],
    ['a crash', 'SIGKILL', 'always'],
  ] as const)('gives every call its result after %s mid-run (%s, appendfsync %s): nothing lost, nothing paid twice', async (_, signal, appendfsync) => {
    const redis = await startRedis({ appendOnly: true, appendfsync });
    onCleanUp(() => redis.close());
    const emulator = await startShortApiEmulator({ latencyMs: { min: 5, max: 40 }, seed: 12 });
    onCleanUp(() => emulator.close());
    const queue = `restart-${process.pid}-${signal}`;
    // A job Redis made active just as it died, whose answer never reached its worker, is active with nobody running it:
    // BullMQ's stalled-job check hands it on once its lock expires. A short lock makes that seconds, not 45.
    for (let i = 0; i < 2; i++) {
      const worker = await spawnWorker({ redis: redis.url, queue, baseURL: emulator.url, apiKey: emulator.apiKey, concurrency: 8, lockMs: 3000 });
      onCleanUp(async () => {
        worker.child.kill('SIGKILL');
        await worker.exited;
      });
    }
    const producer = await bullmqExecutor({ connection: redis.url, queue });
    onCleanUp(() => producer.shutdown({ deadlineMs: 0 }));

    let settled = 0;
    const calls: Promise<CompletionResult>[] = Array.from({ length: CALLS }, (_, i) => {
      const call = producer.complete({ prompt: `restart ${i}` }, { priority: i % 3 });
      void call.then(
        () => settled++,
        () => settled++,
      );
      return call;
    });
    await until(() => settled >= CALLS / 3, 'a third of the calls answered');
    const before = settled;
    await redis.restart(signal);
    const results = await Promise.allSettled(calls);

    expect(before).toBeLessThan(CALLS); // the crash came mid-run
    const failures = results.filter((r) => r.status === 'rejected').map((r) => (ShoalError.isInstance(r.reason) ? r.reason.message : String(r.reason)));
    expect(failures).toEqual([]);
    const texts = results.map((r) => (r.status === 'fulfilled' ? r.value.text : ''));
    expect(texts.every((t) => t.length > 0)).toBe(true);
    const stats = await queueStats(redis.url, queue);
    expect(emulator.stats().duplicateCreates).toBe(0);
    // Every create is a job of its own (idempotency keys are never reused); a re-created one would be counted.
    expect(emulator.stats().jobs).toBe(CALLS + stats.recreated);
    // The queue's ledger is exact, after a crash too: a booking whose answer was lost, sent again by ioredis after the
    // reconnection, is applied once (keyed by the job's id).
    expect(stats.jobs).toBe(emulator.stats().jobs);
    expect(producer.metrics().done).toBe(CALLS);
  });
});
