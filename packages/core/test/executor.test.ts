import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AbortError, BudgetExceededError, ExecutorClosedError, ShoalConfigError, TimeoutError } from '../src/errors.js';
import type { JobCreatedEvent } from '../src/executor/events.js';
import { createExecutor } from '../src/executor/executor.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';
import { rig, until } from './helpers.js';

describe('executor: priority', () => {
  it('dispatches higher priority first and FIFO within a priority (from the emulator create order)', async () => {
    const { executor, emulator } = await rig({ latencyMs: 2 }, {}, { concurrency: 1 });
    const gate = executor.complete({ prompt: 'gate' }); // occupies the only slot while the rest queue
    const priorities = [0, 5, 1, 5, 0, 9, 1, 5];
    const calls = priorities.map((priority, i) => executor.complete({ prompt: `p${priority}-${i}` }, { priority }));
    await Promise.all([gate, ...calls]);
    const order = emulator.jobs.map((j) => j.prompt);
    expect(order).toEqual(['gate', 'p9-5', 'p5-1', 'p5-3', 'p5-7', 'p1-2', 'p1-6', 'p0-0', 'p0-4']);
  });

  it('never runs more than `concurrency` jobs at once', async () => {
    // Jobs long enough that the first seven are all running before any ends, even on a busy machine.
    const { executor, emulator } = await rig({ latencyMs: { min: 60, max: 80 } }, {}, { concurrency: 7 });
    await Promise.all(Array.from({ length: 60 }, (_, i) => executor.complete({ prompt: `c${i}` })));
    expect(emulator.stats().peakRunning).toBeLessThanOrEqual(7);
    // It does use the slots (exactly 7 at once depends on timing on a loaded machine, so not asserted).
    expect(emulator.stats().peakRunning).toBeGreaterThanOrEqual(4);
  });
});

describe('executor: dedup and cache', () => {
  it('shares one job between identical requests in flight', async () => {
    const { executor, emulator } = await rig({ latencyMs: 50 });
    const results = await Promise.all(Array.from({ length: 5 }, () => executor.complete({ prompt: 'same' })));
    expect(emulator.stats().jobs).toBe(1);
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.filter((r) => r.deduplicated)).toHaveLength(4);
    expect(results.reduce((sum, r) => sum + r.costUsd, 0)).toBeCloseTo(Number(emulator.jobs[0]!.amountUsd), 12);
    expect(executor.metrics().deduplicated).toBe(4);
  });

  it('answers a repeated request from the cache at no cost, unless the call opts out', async () => {
    const { executor, emulator } = await rig();
    const first = await executor.complete({ prompt: 'again' });
    const second = await executor.complete({ prompt: 'again' });
    expect(second).toMatchObject({ text: first.text, cached: true, costUsd: 0, attempts: 0, requests: 0 });
    await executor.complete({ prompt: 'again' }, { cache: false });
    expect(emulator.stats().jobs).toBe(2);
    expect(executor.metrics().cached).toBe(1);
  });

  it('does not share a job between requests whose args differ', async () => {
    const { executor, emulator } = await rig({ latencyMs: 20 });
    await Promise.all([executor.complete({ prompt: 'x', args: { t: 1 } }), executor.complete({ prompt: 'x', args: { t: 2 } })]);
    expect(emulator.stats().jobs).toBe(2);
  });

  it('keeps a shared job alive while one caller still waits', async () => {
    // The job runs until finish(): one caller leaves while it runs, then it ends.
    const { executor, emulator } = await rig({ latencyMs: 60_000, rules: [{ match: 'shared', reply: 'ok' }] });
    const controller = new AbortController();
    const leaving = executor.complete({ prompt: 'shared' }, { signal: controller.signal });
    const staying = executor.complete({ prompt: 'shared' });
    await until(() => emulator.jobs.length === 1);
    controller.abort();
    await expect(leaving).rejects.toSatisfy(AbortError.isInstance);
    expect(emulator.finish(emulator.jobs[0]!.id)).toBe(true);
    expect((await staying).text).toBe('ok');
    expect(emulator.stats().jobs).toBe(1);
  });
});

describe('executor: cost ledger and budget', () => {
  it('totals cost per tag', async () => {
    const { executor, emulator } = await rig();
    await executor.complete({ prompt: 'a' }, { tags: ['rank'] });
    await executor.complete({ prompt: 'b' }, { tags: ['rank', 'run-1'] });
    await executor.complete({ prompt: 'c' }, { tags: ['extract'] });
    const m = executor.metrics();
    const amount = (i: number) => Number(emulator.jobs[i]!.amountUsd);
    expect(m.byTag.rank!.costUsd).toBeCloseTo(amount(0) + amount(1), 12);
    expect(m.byTag['run-1']!.calls).toBe(1);
    expect(m.byTag.extract!.costUsd).toBeCloseTo(amount(2), 12);
    expect(m.costUsd).toBeCloseTo(amount(0) + amount(1) + amount(2), 12);
  });

  it('stops new dispatches when the budget is spent, lets calls in flight finish, and says so', async () => {
    const { executor, emulator } = await rig(
      { latencyMs: 30, rules: [{ match: '', reply: { text: 'x', usage: { inputTokens: 1000, outputTokens: 1000 } } }] },
      {},
      { concurrency: 2, budgetUsd: 0.002 },
    );
    // Each job costs 1000 * 0.2/M + 1000 * 1.25/M = $0.00145: after two, $0.0029 > $0.002.
    const events: unknown[] = [];
    executor.events.on('budget-exceeded', (e) => events.push(e));
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => executor.complete({ prompt: `b${i}` })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(rejected.every((o) => BudgetExceededError.isInstance(o.reason))).toBe(true);
    expect(emulator.stats().jobs).toBe(2);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ budgetUsd: 0.002, rejected: 4 });
    await expect(executor.complete({ prompt: 'later' })).rejects.toSatisfy(BudgetExceededError.isInstance);
  });

  it('spends nothing with a budget of 0', async () => {
    const { executor, emulator } = await rig({}, {}, { budgetUsd: 0 });
    await expect(executor.complete({ prompt: 'x' })).rejects.toSatisfy(BudgetExceededError.isInstance);
    expect(emulator.stats().creates).toBe(0);
  });
});

describe('executor: cancellation, timeouts, close', () => {
  it('cancels thousands of calls sharing one signal with one listener', async () => {
    // Jobs run until the test ends: four are made (the concurrency), the rest wait in the queue.
    const { executor, emulator } = await rig({ latencyMs: 60_000 }, {}, { concurrency: 4 });
    const controller = new AbortController();
    const calls = Array.from({ length: 20_000 }, (_, i) => executor.complete({ prompt: `s${i}` }, { signal: controller.signal }));
    await until(() => emulator.jobs.length === 4);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1); // one listener for 20,000 calls
    controller.abort();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((o) => o.status === 'rejected' && AbortError.isInstance(o.reason))).toBe(true);
    expect(emulator.stats().jobs).toBeLessThanOrEqual(4);
    expect(executor.metrics()).toMatchObject({ queued: 0, failed: 20_000 });
  });

  it('times out a queued call with the queue state in the message', async () => {
    const { executor } = await rig({ latencyMs: 500 }, {}, { concurrency: 1 });
    const first = executor.complete({ prompt: 'occupies' });
    const error = await executor.complete({ prompt: 'waits' }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/after 50 ms \(still queued; executor: 1 queued, 1 running, concurrency 1\/1\)/);
    await first;
  });

  it('drains on close: queued and running calls finish, new ones are refused', async () => {
    const { executor } = await rig({ latencyMs: 20 }, {}, { concurrency: 2 });
    const calls = Array.from({ length: 6 }, (_, i) => executor.complete({ prompt: `d${i}` }));
    const closing = executor.close();
    await expect(executor.complete({ prompt: 'late' })).rejects.toSatisfy(ExecutorClosedError.isInstance);
    await closing;
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
  });

  it('emits typed events with the call id, timings and cost', async () => {
    const { executor } = await rig({ latencyMs: 5 });
    const seen: string[] = [];
    let end: { callId: string; costUsd: number; durationMs: number } | undefined;
    for (const name of ['call-queued', 'call-start', 'job-created', 'call-end'] as const) executor.events.on(name, () => seen.push(name));
    executor.events.on('call-end', (e) => (end = e));
    await executor.complete({ prompt: 'e' });
    expect(seen).toEqual(['call-queued', 'call-start', 'job-created', 'call-end']);
    expect(end!.callId).toMatch(/^[\w-]{21}$/);
    expect(end!.costUsd).toBeGreaterThan(0);
    expect(end!.durationMs).toBeGreaterThan(0);
  });
});

describe('executor: adaptive concurrency', () => {
  it('lowers concurrency on a burst of 429s', async () => {
    const { executor } = await rig(
      { latencyMs: 5, faults: { rateLimit: 0.6, retryAfterSeconds: 0 }, seed: 4 },
      {},
      { concurrency: 32, retry: { maxAttempts: 20 } },
    );
    const changes: { from: number; to: number }[] = [];
    executor.events.on('concurrency-change', (e) => changes.push(e));
    await Promise.all(Array.from({ length: 100 }, (_, i) => executor.complete({ prompt: `r${i}` })));
    expect(changes.length).toBeGreaterThan(0);
    expect(changes[0]!.to).toBeLessThan(32);
  });
});

describe('executor: bad options fail at construction', () => {
  const provider = scriptedProvider([{ reply: 'x' }]);
  it.each([
    [{ provider, concurrency: 0 }, 'Expected `concurrency` to be an integer from 1 and up, got `0` (number).'],
    [{ provider, concurrency: 2.5 }, 'Expected `concurrency` to be an integer from 1 and up, got `2.5` (number).'],
    [{ provider, budgetUsd: -1 }, 'Expected `budgetUsd` to be a number from 0 and up, got `-1` (number).'],
    [{ provider, concurency: 4 }, 'Unknown option `concurency` in createExecutor(). Did you mean `concurrency`?'],
    [{ provider: {} }, 'Expected `provider` to be a shoal provider'],
    [{ provider, retry: { maxAttempts: 0 } }, 'Expected `retry.maxAttempts` to be an integer from 1 and up'],
  ])('%o', (options, message) => {
    expect(() => createExecutor(options as never)).toThrow(ShoalConfigError);
    expect(() => createExecutor(options as never)).toThrow(message);
  });

  it('shortApi refuses a missing key, a non-http base URL and unknown options', () => {
    const saved = process.env.SHORTAPI_KEY;
    delete process.env.SHORTAPI_KEY;
    try {
      expect(() => shortApi()).toThrow(/No ShortAPI key: pass `apiKey` to shortApi\(\) or set the SHORTAPI_KEY/);
    } finally {
      if (saved !== undefined) process.env.SHORTAPI_KEY = saved;
    }
    expect(() => shortApi({ apiKey: 'k-12345678', baseURL: 'ftp://x' })).toThrow(/http\(s\) URL/);
    expect(() => shortApi({ apiKey: 'k-12345678', pol: {} } as never)).toThrow(/Unknown option `pol`/);
  });
});

describe('executor: callers that leave, throwing listeners, timeout edge values, charges of failed jobs', () => {
  it('re-attaches an identical call made after every caller of a flight left to the job it left: one job, booked once', async () => {
    const { executor, emulator } = await rig({ latencyMs: 200, rules: [{ match: 'again', reply: 'fresh' }] });
    const controller = new AbortController();
    const created = new Promise<JobCreatedEvent>((resolve) => executor.events.once('job-created', resolve));
    const leaving = executor.complete({ prompt: 'again' }, { signal: controller.signal });
    // The event carries the charge the create reported, as the server wrote it.
    expect((await created).amountUsd).toBe(emulator.jobs[0]!.amountUsd);
    controller.abort();
    await expect(leaving).rejects.toSatisfy(AbortError.isInstance);
    const result = await executor.complete({ prompt: 'again' });
    expect(result.text).toBe('fresh');
    expect(result.deduplicated).toBe(false);
    expect(emulator.stats().jobs).toBe(1);
    expect(emulator.stats().creates).toBe(1);
    expect(executor.metrics().recovery.resumed).toBe(1);
    // Booked once, when the job was created; the call that got the answer reports what it cost.
    const billed = Number(emulator.jobs[0]!.amountUsd);
    expect(executor.metrics().costUsd).toBe(billed);
    expect(result.costUsd).toBe(billed);
  });

  it('lets a create in flight answer when its caller leaves: the job is booked, and the same call made again re-attaches to it', async () => {
    const { executor, emulator } = await rig({ createLatencyMs: 150, latencyMs: 10, rules: [{ match: 'slow create', reply: 'made' }] });
    const controller = new AbortController();
    const sent = until(() => emulator.jobs.length > 0);
    const leaving = executor.complete({ prompt: 'slow create' }, { signal: controller.signal });
    await sent; // the job exists on the server; its create's answer has not come back yet
    controller.abort();
    await expect(leaving).rejects.toSatisfy(AbortError.isInstance);
    const result = await executor.complete({ prompt: 'slow create' });
    expect(result.text).toBe('made');
    expect(emulator.stats().jobs).toBe(1);
    expect(emulator.jobs[0]!.answered).toBe(true);
    expect(executor.metrics().jobs).toBe(1);
    expect(executor.metrics().costUsd).toBe(Number(emulator.jobs[0]!.amountUsd));
  });

  it('keeps working when an event listener throws, and reports the error', async () => {
    const { executor } = await rig({ latencyMs: 5 }, {}, { concurrency: 1 });
    const reported: { event: string; error: unknown }[] = [];
    executor.events.on('call-end', () => {
      throw new Error('listener bug');
    });
    executor.events.on('listener-error', (e) => reported.push(e));
    const results = await Promise.all([executor.complete({ prompt: 'a' }), executor.complete({ prompt: 'b' }), executor.complete({ prompt: 'c' })]);
    expect(results).toHaveLength(3);
    expect(reported).toHaveLength(3);
    expect(reported[0]).toMatchObject({ event: 'call-end', error: new Error('listener bug') });
    await executor.close();
  });

  it('treats an infinite per-call timeout as none, and refuses a bad one before queueing', async () => {
    const { executor, emulator } = await rig({ latencyMs: 30 });
    expect((await executor.complete({ prompt: 'inf' }, { timeoutMs: Infinity })).text).toBeTypeOf('string');
    expect((await executor.complete({ prompt: 'huge' }, { timeoutMs: 3e9 })).text).toBeTypeOf('string');
    await expect(executor.complete({ prompt: 'zero' }, { timeoutMs: 0 })).rejects.toThrow(/Expected `timeoutMs` to be a number from 1 and up/);
    expect(emulator.stats().creates).toBe(2);
  });

  it('books the charge of a job that failed, and of its replacement', async () => {
    const { executor, emulator } = await rig({ rules: [{ match: 'flaky', reply: { fail: 'backend' } }] }, {}, { retry: { maxAttempts: 3, baseDelayMs: 1 } });
    await expect(executor.complete({ prompt: 'flaky' })).rejects.toThrow();
    expect(emulator.stats().jobs).toBe(3);
    const billed = emulator.jobs.reduce((sum, j) => sum + Number(j.amountUsd), 0);
    expect(billed).toBeGreaterThan(0);
    expect(executor.metrics().costUsd).toBeCloseTo(billed, 12);
    // Each replacement went out under a new idempotency key.
    expect(new Set(emulator.jobs.map((j) => j.idempotencyKey)).size).toBe(3);
  });
});

describe('executor: cancelled before dispatch', () => {
  it('a call aborted in the same turn it was made never reaches the provider, and close() resolves', async () => {
    let entered = 0;
    const provider = {
      specificationVersion: 'shoal.provider.v1' as const,
      name: 'listens-late',
      model: 'm',
      // Rejects only on an abort that happens after it is called (as a careless provider would).
      doComplete: (_request: unknown, context: { signal: AbortSignal }) => {
        entered++;
        return new Promise<never>((_resolve, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true }));
      },
    };
    const executor = createExecutor({ provider, concurrency: 1, cache: false, dedupe: false });
    const controller = new AbortController();
    const calls = Array.from({ length: 100 }, (_, i) => executor.complete({ prompt: `q${i}` }, { signal: controller.signal }));
    controller.abort();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    await executor.close();
    expect(entered).toBeLessThanOrEqual(1);
    expect(executor.metrics().running).toBe(0);
  });
});
