import { BudgetExceededError, defineAgent, ShoalConfigError, shortApi } from '@shoal/core';
import { parseUsdToPico, picoToUsd, requestKey } from '@shoal/core/internal';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bullmqExecutor, queueStats, startWorker } from '../src/index.js';
import { jobIdFor } from '../src/protocol.js';
import { BudgetRecords } from '../src/shared-budget.js';
import { type RedisServer, redisAvailable, startRedis } from './redis-server.js';
import { cleanUpAfterEach, onCleanUp } from './setup.js';
import { spawnWorker, type WorkerProcess } from './workers.js';

let queues = 0;
cleanUpAfterEach();

/** Every job of these prompts costs the same: 10 input and 20 output tokens, whatever the prompt says. */
const FIXED_PRICE = { match: 'budget', reply: { text: 'ok', usage: { inputTokens: 10, outputTokens: 20, cachedInputTokens: 0 } } };

/** The budget records of a queue (one per producer with a budget): what is spent, and the reservations still held. */
async function budgetRecords(url: string, queue: string) {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`shoal:${queue}:budget:*`);
    const records = await Promise.all(keys.map((key) => redis.hgetall(key)));
    return records.map((fields) => ({ spentPico: BigInt(fields.spent ?? '0'), reservations: Object.keys(fields).filter((f) => f.startsWith('r:')) }));
  } finally {
    redis.disconnect();
  }
}

/** A Redis, an emulator, and one worker on a queue of its own whose model has no known price. */
async function unpricedWorker(emulatorOptions: Parameters<typeof startShortApiEmulator>[0]) {
  const redis = await redisServer();
  const emulator = await startShortApiEmulator(emulatorOptions);
  onCleanUp(() => emulator.close());
  const queue = `budget-unpriced-${process.pid}-${++queues}`;
  const worker = await startWorker({
    connection: redis.url,
    queue,
    concurrency: 1,
    provider: shortApi({ baseURL: emulator.url, apiKey: emulator.apiKey, model: 'openai/unpriced-model' }),
  });
  onCleanUp(() => worker.close());
  return { redis, emulator, queue };
}

async function redisServer(): Promise<RedisServer> {
  const server = await startRedis();
  onCleanUp(() => server.close());
  return server;
}

describe.skipIf(!redisAvailable)('a budget in Redis: the admission rule (Lua, on a real Redis)', () => {
  async function records() {
    const server = await redisServer();
    const redis = new Redis(server.url);
    onCleanUp(async () => redis.disconnect());
    return new BudgetRecords(redis, `rule-${++queues}`);
  }

  it('admits the first call alone, then calls while the spend, the reservations and the largest charge fit the limit', async () => {
    const budgets = await records();
    await budgets.create('b', picoToUsd(1000n));
    expect((await budgets.admit('b', 'a')).status).toBe('admitted');
    // No charge known yet: the first call runs alone.
    expect((await budgets.admit('b', 'b1')).status).toBe('wait');
    // A call taken over (admitted before, same job id) replaces its own reservation: it does not wait for itself.
    expect((await budgets.admit('b', 'a')).status).toBe('admitted');
    await budgets.book('b', 'a', 100n, true);
    // Spent 100 of 1000, each call estimated at the largest charge (100): nine more fit (100 + 9 × 100 = 1000), not ten.
    const admitted: string[] = [];
    for (let i = 0; i < 12; i++) if ((await budgets.admit('b', `c${i}`)).status === 'admitted') admitted.push(`c${i}`);
    expect(admitted).toHaveLength(9);
    expect((await budgets.admit('b', 'late')).status).toBe('wait');
    // A call that made no job of its own hands its room back.
    await budgets.release('b', admitted.pop()!, true);
    expect((await budgets.admit('b', 'late')).status).toBe('admitted');
    admitted.push('late');
    for (const token of admitted) await budgets.book('b', token, 100n, true);
    const spent = await budgets.admit('b', 'after');
    expect(spent.status).toBe('spent');
    const error = (spent as { error: BudgetExceededError }).error;
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.budgetUsd).toBe(picoToUsd(1000n));
    expect(error.spentUsd).toBe(picoToUsd(1000n));
    // A call admitted before whose call has not ended (its worker died, or handed it back) goes on: its job may be
    // paid already. One never admitted does not, taken over or not.
    expect((await budgets.admit('b', 'c1')).status).toBe('admitted');
    expect((await budgets.admit('b', 'never-admitted')).status).toBe('spent');
    await budgets.release('b', 'c1', true); // its call ended: forgotten
    expect((await budgets.admit('b', 'c1')).status).toBe('spent');
    expect(await budgets.spentPico('b')).toBe(1000n);
  });

  it('always admits a call when nothing else is in flight, so a limit below one call still lets one through', async () => {
    const budgets = await records();
    await budgets.create('small', picoToUsd(150n));
    expect((await budgets.admit('small', 'a')).status).toBe('admitted');
    await budgets.book('small', 'a', 100n, true);
    // 100 + 100 > 150 would not fit beside another call, but nothing is in flight.
    expect((await budgets.admit('small', 'b')).status).toBe('admitted');
    expect((await budgets.admit('small', 'c')).status).toBe('wait');
    await budgets.book('small', 'b', 100n, true);
    expect((await budgets.admit('small', 'c')).status).toBe('spent');
  });

  it("frees a dead worker's reservation once it expires, refuses everything under a budget of $0, and says when a budget is gone", async () => {
    const budgets = await records();
    await budgets.create('b', 1);
    expect((await budgets.admit('b', 'dead', 0)).status).toBe('admitted'); // expires at once
    expect((await budgets.admit('b', 'next')).status).toBe('admitted');
    expect((await budgets.admit('b', 'third')).status).toBe('wait'); // 'next' is in flight, no charge known
    await budgets.create('zero', 0);
    expect((await budgets.admit('zero', 'a')).status).toBe('spent');
    expect((await budgets.admit('nobody', 'a')).status).toBe('missing');
  });
});

describe.skipIf(!redisAvailable)('one budget across worker processes', () => {
  it('a worker takes no budget of its own and points to the producer', async () => {
    const error = await startWorker({ connection: 'redis://127.0.0.1:1', budgetUsd: 1 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShoalConfigError);
    expect((error as Error).message).toMatch(/bullmqExecutor\(\{ budgetUsd \}\)/);
    expect((error as Error).message).not.toMatch(/not built yet/);
    const bad = await bullmqExecutor({ connection: 'redis://127.0.0.1:1', budgetUsd: -1 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ShoalConfigError);
    expect((bad as Error).message).toMatch(/Expected `budgetUsd` to be a number from 0 and up, got `-1`/);
  });

  it("fails a budget's call on a worker whose model has no known price, before any create", async () => {
    const { redis, emulator, queue } = await unpricedWorker({ latencyMs: 1 });
    const producer = await bullmqExecutor({ connection: redis.url, queue, budgetUsd: 1 });
    onCleanUp(() => producer.shutdown({ deadlineMs: 2000 }));
    const error = await producer.complete({ prompt: 'budget: unpriced' }).catch((e: unknown) => e);
    // Rebuilt from the worker's: its code says which class it was.
    expect(ShoalConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/on this worker needs the model's prices, and "openai\/unpriced-model" has none known/);
    expect(emulator.jobs).toHaveLength(0);
  });

  it("stops an agent's budget on a producer at the first result of unknown price, and counts it as unpriced", async () => {
    // No charge reported: the job's cost is known only from prices, and this model has none.
    const { redis, emulator, queue } = await unpricedWorker({ latencyMs: 1, reportAmount: false });
    const producer = await bullmqExecutor({ connection: redis.url, queue });
    onCleanUp(() => producer.shutdown({ deadlineMs: 2000 }));
    const first = await producer.complete({ prompt: 'no budget: runs, unpriced' });
    expect(first).toMatchObject({ unpriced: true, costUsd: 0 });
    expect(producer.metrics().totals.unpricedCalls).toBe(1);
    const echo = defineAgent({
      name: 'echo',
      description: 'Echoes.',
      input: z.object({ text: z.string() }),
      output: z.object({ text: z.string() }),
      instructions: 'Echo the text.',
    });
    // The producer cannot know the workers' prices up front: the run stops at its first result, one job made.
    const error = await echo.run({ text: 'a' }, { executor: producer, budgetUsd: 1 }).catch((e: unknown) => e);
    expect(ShoalConfigError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^echo\.run\(\{ budgetUsd \}\) needs the model's prices, and "[^"]+" has none known/);
    expect(emulator.jobs).toHaveLength(2);
    // runMany: the items whose result came back unpriced, and every item after, fail with the refusal.
    const many = await echo.runMany([{ text: 'b' }, { text: 'c' }], { executor: producer, budgetUsd: 1 });
    expect(many.items.map((item) => (item.ok ? 'ok' : item.error.code))).toEqual(['CONFIG_INVALID', 'CONFIG_INVALID']);
  });

  it('stops 4 workers at a budget of the price of 100 jobs: at most one call per worker over it, the rest refused without a create', async () => {
    const redis = await redisServer();
    const emulator: ShortApiEmulator = await startShortApiEmulator({ latencyMs: { min: 5, max: 40 }, rules: [FIXED_PRICE] });
    onCleanUp(() => emulator.close());
    const queue = `budget-${process.pid}-${++queues}`;
    const workers: WorkerProcess[] = await Promise.all(
      Array.from({ length: 4 }, () => spawnWorker({ redis: redis.url, queue, baseURL: emulator.url, apiKey: emulator.apiKey, concurrency: 8 })),
    );
    for (const worker of workers) {
      onCleanUp(async () => {
        worker.child.kill('SIGTERM');
        const killer = setTimeout(() => worker.child.kill('SIGKILL'), 5000);
        await worker.exited;
        clearTimeout(killer);
      });
    }
    // The price of one job, learnt from one call without a budget.
    const free = await bullmqExecutor({ connection: redis.url, queue });
    onCleanUp(() => free.shutdown({ deadlineMs: 2000 }));
    await free.complete({ prompt: 'budget: the price' });
    const pricePico = parseUsdToPico(emulator.jobs[0]!.amountUsd)!;
    expect(pricePico).toBeGreaterThan(0n);
    const budgetUsd = picoToUsd(pricePico * 100n);

    const executor = await bullmqExecutor({ connection: redis.url, queue, budgetUsd });
    onCleanUp(() => executor.shutdown({ deadlineMs: 2000 }));
    const outcomes = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => executor.complete({ prompt: `budget call ${i}` })));
    const answered = outcomes.filter((o) => o.status === 'fulfilled').length;
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    const jobs = emulator.stats().jobs - 1; // the price's job was not this budget's
    // With every job at one price, the rule stops at exactly 100; "about one call per worker over it" is the bound.
    expect(jobs).toBeGreaterThanOrEqual(100);
    expect(jobs).toBeLessThanOrEqual(104);
    expect(answered).toBe(jobs);
    expect(emulator.stats().creates).toBe(emulator.stats().jobs); // no create refused or sent twice
    // Every other caller got core's typed error, across the queue, with the budget's figures.
    expect(refused).toHaveLength(300 - jobs);
    for (const error of refused) {
      expect(error).toBeInstanceOf(BudgetExceededError);
      expect((error as BudgetExceededError).budgetUsd).toBe(budgetUsd);
    }
    // The ledger in Redis is the server's bill; the producer's metrics show the budget and what it paid.
    const billed = emulator.jobs.reduce((sum, job) => sum + parseUsdToPico(job.amountUsd)!, 0n);
    expect(parseUsdToPico(String((await queueStats(redis.url, queue)).costUsd))).toBe(billed);
    expect(executor.metrics().budgetUsd).toBe(budgetUsd);
    expect(parseUsdToPico(String(executor.metrics().costUsd))).toBe(billed - pricePico);
    expect(executor.metrics().costUsd).toBeGreaterThanOrEqual(budgetUsd);
    // The budget's own record: every charge, and no reservation left behind.
    expect(await budgetRecords(redis.url, queue)).toEqual([{ spentPico: billed - pricePico, reservations: [] }]);

    // Spent: the producer refuses a new call itself, and nothing reaches the queue.
    const bull = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
    onCleanUp(() => bull.close());
    const counts = async () => Object.values(await bull.getJobCounts()).reduce((a, b) => a + b, 0);
    const before = await counts();
    const late = await executor.complete({ prompt: 'budget call after the end' }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(BudgetExceededError);
    expect(await counts()).toBe(before);
    expect(emulator.stats().jobs).toBe(jobs + 1);
    // A producer without a budget still runs on the same workers.
    await free.complete({ prompt: 'budget: no limit here' });
    expect(emulator.stats().jobs).toBe(jobs + 2);
  });

  it('books the charges of jobs that failed, and hands back the room of a call that made no job (answered from the cache)', async () => {
    const redis = await redisServer();
    const broken = { match: 'broken', reply: { fail: 'the model backend failed', usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0 } } };
    const emulator = await startShortApiEmulator({ latencyMs: 5, rules: [broken, FIXED_PRICE] });
    onCleanUp(() => emulator.close());
    const queue = `budget-${process.pid}-${++queues}`;
    const worker = await startWorker({
      connection: redis.url,
      queue,
      concurrency: 2,
      provider: shortApi({ baseURL: emulator.url, apiKey: emulator.apiKey }),
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    onCleanUp(() => worker.close());
    const executor = await bullmqExecutor({ connection: redis.url, queue, budgetUsd: 1 });
    onCleanUp(() => executor.shutdown({ deadlineMs: 2000 }));

    const failed = await executor.complete({ prompt: 'broken budget call' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(emulator.stats().jobs).toBe(2); // two attempts, two jobs, both charged
    const billed = () => emulator.jobs.reduce((sum, job) => sum + parseUsdToPico(job.amountUsd)!, 0n);
    expect(await budgetRecords(redis.url, queue)).toEqual([{ spentPico: billed(), reservations: [] }]);
    // The caller's metrics count what its failed call cost.
    expect(parseUsdToPico(String(executor.metrics().costUsd))).toBe(billed());

    const first = await executor.complete({ prompt: 'budget asked twice' });
    expect(first.cached).toBe(false);
    // The finished BullMQ job is removed, so the same call makes a new one, which the worker answers from its cache in Redis.
    const bull = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
    onCleanUp(() => bull.close());
    await (await bull.getJob(jobIdFor(requestKey('shoal.bullmq', { prompt: 'budget asked twice' }))))!.remove();
    const again = await executor.complete({ prompt: 'budget asked twice' });
    expect(again.cached).toBe(true);
    expect(emulator.stats().jobs).toBe(3);
    expect(await budgetRecords(redis.url, queue)).toEqual([{ spentPico: billed(), reservations: [] }]);
  });

  it('hands a call waiting for room back to the queue when its worker closes; another worker runs it', async () => {
    const redis = await redisServer();
    const emulator = await startShortApiEmulator({ latencyMs: 5, rules: [FIXED_PRICE] });
    onCleanUp(() => emulator.close());
    const queue = `budget-${process.pid}-${++queues}`;
    const executor = await bullmqExecutor({ connection: redis.url, queue, budgetUsd: 1 });
    onCleanUp(() => executor.shutdown({ deadlineMs: 2000 }));
    // Another call holds the budget's slow start (no charge known yet): this worker's call must wait.
    const client = new Redis(redis.url);
    onCleanUp(async () => client.disconnect());
    const [key] = await client.keys(`shoal:${queue}:budget:*`);
    const id = key!.split(':').at(-1)!;
    const records = new BudgetRecords(client, queue);
    expect((await records.admit(id, 'elsewhere')).status).toBe('admitted');
    const start = () => startWorker({ connection: redis.url, queue, concurrency: 2, provider: shortApi({ baseURL: emulator.url, apiKey: emulator.apiKey }) });
    const first = await start();
    const call = executor.complete({ prompt: 'budget call that waits' });
    const bull = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
    onCleanUp(() => bull.close());
    const jobId = jobIdFor(requestKey('shoal.bullmq', { prompt: 'budget call that waits' }));
    for (let asked = 0; (await bull.getJobState(jobId)) !== 'active'; asked++) {
      if (asked > 10_000) throw new Error('the call never reached the worker');
    }
    await first.close(); // would wait for room for ever if the call were not handed back
    expect(['waiting', 'prioritized']).toContain(await bull.getJobState(jobId));
    expect(emulator.stats().creates).toBe(0);
    await records.release(id, 'elsewhere', true);
    const second = await start();
    onCleanUp(() => second.close());
    expect((await call).text).toBe('ok');
    expect(emulator.stats().jobs).toBe(1);
  });
});
