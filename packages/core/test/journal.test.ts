import { afterEach, describe, expect, it } from 'vitest';
import { ExecutorClosedError, ShoalConfigError } from '../src/errors.js';
import { MemoryCacheStore, requestKey } from '../src/executor/cache.js';
import { createExecutor, type Executor, type ExecutorOptions } from '../src/executor/executor.js';
import { type DurableStore, JOURNAL_KEY, type JournalEntry, type JournaledCallOptions } from '../src/executor/journal.js';
import { handleShutdown } from '../src/executor/shutdown.js';
import type { CallOptions } from '../src/executor/types.js';
import { shortApi } from '../src/providers/shortapi/shortapi.js';
import { type EmulatorOptions, type ShortApiEmulator, startShortApiEmulator } from '../src/testing/emulator.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';
import { until } from './helpers.js';

// The executor's use of a store's journal, with an in-memory store (the SQLite one lives in
// its own package and is tested end to end from test/). Each "run" is a new executor on the
// same store, as a process started again would be.

interface MemoryStore extends DurableStore {
  readonly entries: Map<string, JournalEntry>;
  readonly cacheStore: MemoryCacheStore;
  failIntents: boolean;
  failCacheSets: boolean;
}

function memoryStore(): MemoryStore {
  const entries = new Map<string, JournalEntry>();
  const cacheStore = new MemoryCacheStore();
  const store: MemoryStore = {
    entries,
    cacheStore,
    failIntents: false,
    failCacheSets: false,
    cache: {
      get: (key) => cacheStore.get(key),
      set: (key, value) => {
        if (store.failCacheSets) throw new Error('disk full');
        cacheStore.set(key, value);
      },
    },
    journal: {
      lookup: (key) => entries.get(key),
      intent: async (key, idempotencyKey) => {
        if (store.failIntents) throw new Error('disk full');
        entries.set(key, { key, idempotencyKey, jobId: undefined });
      },
      created: (key, jobId) => {
        const entry = entries.get(key)!;
        entries.set(key, { ...entry, jobId });
      },
      settle: (key) => {
        entries.delete(key);
      },
      pending: () => [...entries.values()],
    },
    close: () => {},
  };
  return store;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function emulatorFor(options: EmulatorOptions): Promise<ShortApiEmulator> {
  const emulator = await startShortApiEmulator(options);
  cleanups.push(() => emulator.close());
  return emulator;
}

function run(emulator: ShortApiEmulator, store: DurableStore, options: Omit<ExecutorOptions, 'provider' | 'store'> = {}): Executor {
  const executor = createExecutor({
    provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
    store,
    random: () => 0,
    retry: { baseDelayMs: 1 },
    ...options,
  });
  cleanups.push(() => executor.close({ drain: false }));
  return executor;
}

const keyOf = (prompt: string) => requestKey('openai/gpt-5.4-nano', { prompt });

/** A call whose caller stops waiting as soon as its job exists (no timing involved). */
function leaveOnceCreated(executor: Executor, prompt: string, options: CallOptions & JournaledCallOptions = {}): Promise<unknown> {
  const controller = new AbortController();
  const tag = `leave:${prompt}`;
  executor.events.on('job-created', (event) => {
    if (event.tags?.includes(tag)) controller.abort();
  });
  return executor.complete({ prompt }, { ...options, signal: controller.signal, tags: [tag] }).catch((error: unknown) => error);
}

describe('journal: what a run leaves for the next', () => {
  it('closes the entry once the result is cached; the next run takes it from the cache with no create', async () => {
    const emulator = await emulatorFor({ latencyMs: 5 });
    const store = memoryStore();
    const first = await run(emulator, store).complete({ prompt: 'a' });
    expect(store.entries.size).toBe(0);
    const again = run(emulator, store);
    expect(await again.complete({ prompt: 'a' })).toMatchObject({ text: first.text, cached: true });
    expect(emulator.stats().creates).toBe(1);
  });

  it('keeps the job id of a call that stopped waiting, and the next run waits for that job by id', async () => {
    const emulator = await emulatorFor({ latencyMs: 300, rules: [{ match: 'slow', reply: 'done at last' }] });
    const store = memoryStore();
    const first = run(emulator, store);
    expect(await leaveOnceCreated(first, 'slow')).toMatchObject({ code: 'ABORTED' });
    await first.close();
    const jobId = emulator.jobs[0]!.id;
    expect(store.entries.get(keyOf('slow'))).toMatchObject({ jobId });

    const second = run(emulator, store);
    const resumed: string[] = [];
    second.events.on('job-resumed', (event) => resumed.push(event.jobId));
    const result = await second.complete({ prompt: 'slow' });
    expect(result).toMatchObject({ text: 'done at last', jobId, cached: false });
    expect(resumed).toEqual([jobId]);
    expect(second.metrics()).toMatchObject({ jobs: 0, recovery: { resumed: 1, recreated: 0, storeErrors: 0 } });
    expect(emulator.stats().creates).toBe(1);
    expect(store.entries.size).toBe(0);
  });

  it('sends an unanswered create again under the same idempotency key, and counts it', async () => {
    // The create's answer is lost: the job exists on the server, the run cannot know its id.
    const emulator = await emulatorFor({ latencyMs: 5, faults: { dropCreate: 1 } });
    const store = memoryStore();
    await expect(run(emulator, store).complete({ prompt: 'lost' })).rejects.toMatchObject({ code: 'CREATE_AMBIGUOUS' });
    const entry = store.entries.get(keyOf('lost'))!;
    expect(entry.jobId).toBeUndefined();

    const healthy = await emulatorFor({ latencyMs: 5 });
    const second = run(healthy, store);
    const recreated: string[] = [];
    second.events.on('job-recreated', (event) => recreated.push(event.idempotencyKey));
    await expect(second.complete({ prompt: 'lost' })).resolves.toMatchObject({ cached: false });
    expect(recreated).toEqual([entry.idempotencyKey]);
    expect(healthy.jobs[0]!.idempotencyKey).toBe(entry.idempotencyKey);
    expect(second.metrics().recovery).toEqual({ resumed: 0, recreated: 1, storeErrors: 0 });
  });

  it('says when the server no longer knows a journaled job, takes the job id out of its entry, and the next run creates it again as a re-create', async () => {
    const gone = await emulatorFor({ latencyMs: 300 });
    const store = memoryStore();
    const first = run(gone, store);
    expect(await leaveOnceCreated(first, 'forgotten')).toMatchObject({ code: 'ABORTED' });
    await first.close();
    const fresh = await emulatorFor({ latencyMs: 5 }); // knows no job of the first
    const error = await run(fresh, store)
      .complete({ prompt: 'forgotten' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'JOB_NOT_FOUND', jobId: gone.jobs[0]!.id, status: 404, retryable: false });
    expect((error as Error).message).toMatch(/re-attached to by id .*next run creates the job again \(counted in metrics\(\)\.recovery\.recreated/);
    expect([...store.entries.values()]).toEqual([expect.objectContaining({ jobId: undefined })]);
    expect(fresh.stats().creates).toBe(0);
    const third = run(fresh, store);
    await expect(third.complete({ prompt: 'forgotten' })).resolves.toMatchObject({ cached: false });
    expect(fresh.stats().creates).toBe(1);
    expect(third.metrics().recovery).toMatchObject({ resumed: 0, recreated: 1 });
    expect(store.entries.size).toBe(0);
  });

  it('closes the entry when no job can exist (429s to the end) and when the job failed', async () => {
    const limited = await emulatorFor({ faults: { rateLimit: 1 } });
    const store = memoryStore();
    await expect(run(limited, store, { retry: { maxAttempts: 2, baseDelayMs: 1 } }).complete({ prompt: 'refused' })).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
    });
    expect(store.entries.size).toBe(0);
    const failing = await emulatorFor({ latencyMs: 2, rules: [{ match: 'broken', reply: { fail: 'no' } }] });
    await expect(run(failing, store, { retry: { maxAttempts: 2, baseDelayMs: 1 } }).complete({ prompt: 'broken' })).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
    });
    expect(store.entries.size).toBe(0);
    // The failed job's replacement was a new job under a new key, as without a store.
    const keys = failing.jobs.map((j) => j.idempotencyKey!);
    expect(keys[1]).toBe(`${keys[0]}.1`);
  });

  it('keeps the entry when the result could not be cached, so the next run fetches the job again for free', async () => {
    const emulator = await emulatorFor({ latencyMs: 5 });
    const store = memoryStore();
    store.failCacheSets = true;
    const first = run(emulator, store);
    const result = await first.complete({ prompt: 'uncached' });
    expect(first.metrics().recovery.storeErrors).toBe(1);
    expect(store.entries.get(keyOf('uncached'))?.jobId).toBe(result.jobId);
    store.failCacheSets = false;
    const second = run(emulator, store);
    expect(await second.complete({ prompt: 'uncached' })).toMatchObject({ text: result.text, jobId: result.jobId });
    expect(emulator.stats().creates).toBe(1);
  });

  it('sends nothing when the intent cannot be journaled: the call fails with a StoreError', async () => {
    const emulator = await emulatorFor({});
    const store = memoryStore();
    store.failIntents = true;
    const executor = run(emulator, store);
    await expect(executor.complete({ prompt: 'x' })).rejects.toMatchObject({ code: 'STORE_FAILED', retryable: false });
    expect(emulator.stats().creates).toBe(0);
    expect(executor.metrics().recovery.storeErrors).toBe(1);
  });

  it('re-creates, and counts, a journaled job when the provider cannot re-attach', async () => {
    const store = memoryStore();
    store.entries.set(requestKey('scripted', { prompt: 'p' }), { key: requestKey('scripted', { prompt: 'p' }), idempotencyKey: 'earlier', jobId: 'job_1' });
    const provider = scriptedProvider([{ reply: 'fresh' }]);
    const executor = createExecutor({ provider, store });
    expect(await executor.complete({ prompt: 'p' })).toMatchObject({ text: 'fresh' });
    expect(executor.metrics().recovery).toEqual({ resumed: 0, recreated: 1, storeErrors: 0 });
    await executor.close();
  });

  it('does not journal calls that opt out of the cache', async () => {
    const emulator = await emulatorFor({ latencyMs: 5 });
    const store = memoryStore();
    await run(emulator, store).complete({ prompt: 'z' }, { cache: false });
    expect(store.entries.size).toBe(0);
    expect(store.cacheStore.size).toBe(0);
  });

  it('with a store without a cache, journals only the calls that carry their own journal key, cached or not', async () => {
    const emulator = await emulatorFor({ latencyMs: 300, rules: [{ match: 'slow', reply: 'done at last' }] });
    const { cache: _unused, ...journalOnly } = memoryStore();
    const store = journalOnly as MemoryStore;
    const first = run(emulator, store);
    // Its own entry, under its own key (a queued job's id), though the call is not cached.
    expect(await leaveOnceCreated(first, 'slow', { cache: false, [JOURNAL_KEY]: 'job-1' })).toMatchObject({ code: 'ABORTED' });
    await first.complete({ prompt: 'quick' });
    await first.close();
    const jobId = emulator.jobs[0]!.id;
    expect([...store.entries.keys()]).toEqual(['job-1']);
    expect(store.entries.get('job-1')).toMatchObject({ jobId });

    const second = run(emulator, store);
    const result = await second.complete({ prompt: 'slow' }, { [JOURNAL_KEY]: 'job-1' } as CallOptions);
    expect(result).toMatchObject({ text: 'done at last', jobId, cached: false });
    expect(second.metrics()).toMatchObject({ jobs: 0, cached: 0, recovery: { resumed: 1, recreated: 0 } });
    // No cache: the same prompt again (no journal key) is a new job.
    await second.complete({ prompt: 'slow' });
    expect(emulator.stats().creates).toBe(3);
  });

  it('refuses a store with a cache, and anything that is not a store', () => {
    const provider = scriptedProvider([{ reply: 'x' }]);
    expect(() => createExecutor({ provider, store: memoryStore(), cache: true })).toThrow(ShoalConfigError);
    expect(() => createExecutor({ provider, store: './run.db' as never })).toThrow(/sqliteStore/);
    expect(() => createExecutor({ provider, store: { cache: new MemoryCacheStore() } as never })).toThrow(ShoalConfigError);
  });
});

describe('shutdown', () => {
  it('rejects queued calls, lets running ones finish within the deadline, and reports it', async () => {
    const emulator = await emulatorFor({ latencyMs: 50 });
    const executor = run(emulator, memoryStore(), { concurrency: 2 });
    const calls = Array.from({ length: 6 }, (_, i) =>
      executor.complete({ prompt: `s${i}` }).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const report = await executor.shutdown({ deadlineMs: 10_000 });
    expect(report).toEqual({ rejectedQueued: 4, finished: 2, abandoned: 0, clean: false });
    expect(await Promise.all(calls)).toEqual(['ok', 'ok', 'EXECUTOR_CLOSED', 'EXECUTOR_CLOSED', 'EXECUTOR_CLOSED', 'EXECUTOR_CLOSED']);
    await expect(executor.complete({ prompt: 'late' })).rejects.toBeInstanceOf(ExecutorClosedError);
    await executor.close(); // joins the shutdown
    expect(await executor.shutdown()).toEqual(report);
  });

  it('abandons calls still running at the deadline (with a store, their jobs stay journaled)', async () => {
    const emulator = await emulatorFor({ latencyMs: 60_000 });
    const store = memoryStore();
    const executor = run(emulator, store);
    const call = executor.complete({ prompt: 'long' }).catch((e: unknown) => e);
    await until(() => emulator.jobs.length > 0);
    expect(await executor.shutdown({ deadlineMs: 20 })).toEqual({ rejectedQueued: 0, finished: 0, abandoned: 1, clean: false });
    expect(await call).toMatchObject({ code: 'EXECUTOR_CLOSED', message: expect.stringMatching(/re-attaches/) });
    expect(store.entries.get(keyOf('long'))?.jobId).toBe(emulator.jobs[0]!.id);
  });

  it('a shutdown during a draining close() still rejects the queue and keeps its deadline', async () => {
    const emulator = await emulatorFor({ latencyMs: 50 });
    const executor = run(emulator, memoryStore(), { concurrency: 2 });
    const calls = Array.from({ length: 10 }, (_, i) =>
      executor.complete({ prompt: `d${i}` }).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const closing = executor.close(); // drains: would run all ten
    const report = await executor.shutdown({ deadlineMs: 10_000 });
    await closing;
    expect(report.rejectedQueued).toBeGreaterThanOrEqual(6);
    expect(report.clean).toBe(false);
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'EXECUTOR_CLOSED')).toHaveLength(report.rejectedQueued);
    expect(emulator.stats().creates).toBe(10 - report.rejectedQueued);
  });

  it('counts calls refused after close, and takes a deadline beyond a timer as "wait"', async () => {
    const emulator = await emulatorFor({ latencyMs: 30 });
    const executor = run(emulator, memoryStore());
    const call = executor.complete({ prompt: 'long deadline' });
    const report = await executor.shutdown({ deadlineMs: 30 * 24 * 3600 * 1000 });
    expect(report).toMatchObject({ abandoned: 0, finished: 1 });
    await call;
    await executor.complete({ prompt: 'after' }).catch(() => undefined);
    expect(executor.metrics().refusedAfterClose).toBe(1);
  });

  it('a call made again while the first flight for it unwinds waits for it: one job, journaled, no second create', async () => {
    const emulator = await emulatorFor({ latencyMs: 100, rules: [{ match: 'again', reply: 'the answer' }] });
    const store = memoryStore();
    const executor = run(emulator, store);
    const controller = new AbortController();
    let second: Promise<unknown> | undefined;
    executor.events.on('job-created', () => {
      if (second) return;
      controller.abort();
      second = executor.complete({ prompt: 'again' }); // issued at once, while the first flight unwinds
    });
    await executor.complete({ prompt: 'again' }, { signal: controller.signal }).catch(() => undefined);
    await until(() => second !== undefined);
    expect(await second).toMatchObject({ text: 'the answer' });
    expect(emulator.stats().creates).toBe(1);
    expect(executor.metrics().recovery.resumed).toBe(1);
    expect(store.entries.size).toBe(0);
  });

  it('checks its options, and handleShutdown installs and removes its signal handlers', async () => {
    const executor = createExecutor({ provider: scriptedProvider([{ reply: 'x' }]) });
    await expect(executor.shutdown({ deadlineMs: -1 })).rejects.toThrow(ShoalConfigError);
    expect(() => handleShutdown(executor, { signals: ['SIGNOPE' as NodeJS.Signals] })).toThrow(ShoalConfigError);
    expect(() => handleShutdown(executor, { deadline: 5 } as never)).toThrow(/Unknown option `deadline`/);
    expect(() => handleShutdown({} as never)).toThrow(ShoalConfigError);
    const listening = process.listenerCount('SIGTERM');
    expect(() => handleShutdown(executor, { signals: ['SIGTERM', 'SIGKILL'] })).toThrow(/SIGKILL, which no process can catch/);
    expect(process.listenerCount('SIGTERM')).toBe(listening);
    const before = process.listenerCount('SIGTERM');
    const remove = handleShutdown(executor, { deadlineMs: 100 });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    remove();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
