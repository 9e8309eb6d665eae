import type { CompletionResult } from '@shoal/core';
import { seededRandom } from '@shoal/core/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueStats } from '../src/index.js';
import { redisAvailable } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp, setup, untilAsync } from './setup.js';

cleanUpAfterEach();

const WORKERS = 4;
const CONCURRENCY = 8;
/** Bounds each run (they take 10 to 30 s alone; more with another suite beside them on two cores). */
const LOAD_TIMEOUT_MS = 240_000;

/** Counts the calls that have ended, so a test can act at a point of the run (`reached(n)`: once n have ended). */
function counted(calls: Promise<CompletionResult>[], onEnded?: (ended: number) => void) {
  let ended = 0;
  const waiting = new Map<number, () => void>();
  const end = () => {
    ended++;
    onEnded?.(ended);
    waiting.get(ended)?.();
  };
  for (const call of calls) void call.then(end, end);
  const reached = (n: number) => (ended >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(n, resolve)));
  return { all: Promise.all(calls), reached };
}

describe.skipIf(!redisAvailable)('@shoal/bullmq under load: four worker processes', () => {
  it(
    'creates 2,000 calls of mixed priority in priority order across four workers (one batch per worker at most out of order)',
    async () => {
      const { emulator, redis, queue, spawnOne, producer } = await setup({ latencyMs: { min: 2, max: 20 }, seed: 12 });
      const executor = await producer();
      const random = seededRandom(2000);
      const priorities = Array.from({ length: 2000 }, () => Math.floor(random() * 5));
      const calls = priorities.map((priority, i) => executor.complete({ prompt: `p${priority} n${i}` }, { priority }));
      // Every call waits in the queue before any worker starts: the order of creates is the queue's alone.
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const view = new Queue(queue, { connection });
      onCleanUp(async () => {
        await view.close();
        connection.disconnect();
      });
      await untilAsync(async () => (await view.getJobCountByTypes('prioritized', 'wait')) === 2000, 'all 2,000 calls queued');
      await Promise.all(Array.from({ length: WORKERS }, () => spawnOne({ concurrency: CONCURRENCY })));
      const results = await Promise.all(calls);
      expect(results.every((r) => r.text.length > 0)).toBe(true);
      expect(emulator.stats().jobs).toBe(2000);
      expect(emulator.stats().duplicateCreates).toBe(0);
      // In the order the server saw the creates: for each call, how many of higher priority were created after it
      // (were waiting while it was taken), and how many of its own priority queued before it were created after it.
      const created = emulator.jobs.map((job) => {
        const [, priority, index] = /^p(\d) n(\d+)$/.exec(job.prompt)!;
        return { priority: Number(priority), index: Number(index) };
      });
      let worstHigher = 0;
      let worstFifo = 0;
      for (let i = 0; i < created.length; i++) {
        const { priority, index } = created[i]!;
        let higher = 0;
        let earlier = 0;
        for (let j = i + 1; j < created.length; j++) {
          if (created[j]!.priority > priority) higher++;
          else if (created[j]!.priority === priority && created[j]!.index < index) earlier++;
        }
        worstHigher = Math.max(worstHigher, higher);
        worstFifo = Math.max(worstFifo, earlier);
      }
      expect(worstHigher).toBeLessThanOrEqual(WORKERS * CONCURRENCY);
      expect(worstFifo).toBeLessThanOrEqual(WORKERS * CONCURRENCY);
    },
    LOAD_TIMEOUT_MS,
  );

  it(
    'finishes every call through three SIGKILLs of a worker at seeded random points: no job whose id was written is created again',
    async () => {
      const { emulator, redis, queue, workers, spawnOne, producer } = await setup({ latencyMs: { min: 100, max: 600 }, seed: 3 });
      const LOCK_MS = 2000;
      await Promise.all(Array.from({ length: WORKERS }, () => spawnOne({ lockMs: LOCK_MS, concurrency: CONCURRENCY })));
      const executor = await producer();
      const CALLS = 400;
      const run = counted(Array.from({ length: CALLS }, (_, i) => executor.complete({ prompt: `kill run ${i}` }, { priority: i % 4 })));
      const random = seededRandom(33);
      const killAt = [0, 1, 2].map(() => 40 + Math.floor(random() * 300)).sort((a, b) => a - b);
      const alive = new Set(workers);
      for (const point of killAt) {
        await run.reached(point);
        const victims = [...alive];
        const victim = victims[Math.floor(random() * victims.length)]!;
        alive.delete(victim);
        victim.child.kill('SIGKILL');
        await victim.exited;
        alive.add(await spawnOne({ lockMs: LOCK_MS, concurrency: CONCURRENCY }));
      }
      const results = await run.all;
      expect(results).toHaveLength(CALLS);
      expect(results.every((r) => r.text.length > 0)).toBe(true);
      const stats = await queueStats(redis.url, queue);
      const server = emulator.stats();
      // A killed worker's calls with a job id written were re-attached to; only a create caught between being
      // sent and its id being written may be sent again, and each such is counted.
      expect(stats.resumed).toBeGreaterThanOrEqual(1);
      expect(server.jobs).toBeGreaterThanOrEqual(CALLS);
      expect(server.jobs).toBeLessThanOrEqual(CALLS + stats.recreated);
      expect(server.duplicateCreates).toBeLessThanOrEqual(stats.recreated);
      // The ledger books a job when its create answers: a worker killed between the answer and the booking leaves that
      // job out (paid, and its call counted as re-created).
      expect(stats.jobs).toBeLessThanOrEqual(server.jobs);
      expect(stats.jobs).toBeGreaterThanOrEqual(server.jobs - stats.recreated);
    },
    LOAD_TIMEOUT_MS,
  );

  // Each worker learning on its own, and one limit shared by all (set above what the server takes): learnt down
  // for every worker at once from the first burst of 429s any of them sees.
  it.each([
    { mode: 'each worker learning on its own', requestsPerMinute: undefined },
    { mode: 'one shared limit set too high', requestsPerMinute: 100 * 60 },
  ])(
    'keeps 429s under one request in ten once the rate is learnt ($mode), the server taking fewer requests a second than the workers send',
    async ({ requestsPerMinute }) => {
      const LIMIT = 40;
      const { emulator, redis, queue, spawnOne, producer } = await setup({ latencyMs: 300, rpsLimit: LIMIT });
      // Attempts enough that no call gives up while the rate is learnt: what is measured is the share of 429s once it
      // is, and on a loaded machine (another suite beside this one) a worker may meet more 429s than 4 attempts take.
      await Promise.all(
        Array.from({ length: WORKERS }, () => spawnOne({ concurrency: CONCURRENCY, maxAttempts: 12, ...(requestsPerMinute ? { requestsPerMinute } : {}) })),
      );
      const executor = await producer();
      const CALLS = 240;
      let midway: { requests: number; rateLimited: number } | undefined;
      // Half the calls done: the rate has been learnt by now.
      const run = counted(
        Array.from({ length: CALLS }, (_, i) => executor.complete({ prompt: `limited ${i}` })),
        (ended) => {
          if (ended !== CALLS / 2) return;
          const s = emulator.stats();
          midway = { requests: s.creates + s.queries, rateLimited: s.rateLimited };
        },
      );
      const results = await run.all;
      expect(results).toHaveLength(CALLS);
      const server = emulator.stats();
      expect(server.jobs).toBe(CALLS);
      expect(server.duplicateCreates).toBe(0);
      expect(server.rateLimited).toBeGreaterThan(0); // the limit was really met
      const later = { requests: server.creates + server.queries - midway!.requests, rateLimited: server.rateLimited - midway!.rateLimited };
      expect(later.rateLimited / later.requests).toBeLessThan(0.1);
      if (requestsPerMinute) {
        // The workers' one bucket learnt a rate under the one configured.
        const { learnedRequestsPerMinute: learned, waiting, active } = await queueStats(redis.url, queue);
        expect(learned).toBeGreaterThan(0);
        expect(learned).toBeLessThan(requestsPerMinute);
        expect(waiting + active).toBe(0);
      }
    },
    LOAD_TIMEOUT_MS,
  );
});
