import { describe, expect, it } from 'vitest';
import { ShoalConfigError } from '../src/errors.js';
import { createExecutor } from '../src/executor/executor.js';
import type { Limiter } from '../src/executor/limiter.js';
import { type CallQueue, heapQueue, type QueueEntry } from '../src/executor/queue.js';
import { manualClock } from '../src/testing/manual-clock.js';
import { scriptedProvider } from '../src/testing/scripted-provider.js';

/** A queue that ignores priority (first in, first out), counting what goes through it. */
function fifoQueue(log: string[]) {
  return <T extends QueueEntry>(): CallQueue<T> => {
    const items: T[] = [];
    return {
      get size() {
        return items.length;
      },
      enqueue: (entry) => {
        log.push('enqueue');
        items.push(entry);
      },
      peek: () => items[0],
      take: () => items.shift(),
      cancel: (signal) => items.filter((entry) => entry.signal === signal),
      drain: () => items.splice(0),
    };
  };
}

describe('executor seams: the queue', () => {
  it('orders calls by the queue it is given', async () => {
    const log: string[] = [];
    const provider = scriptedProvider((request) => request.prompt);
    const executor = createExecutor({ provider, concurrency: 1, queue: fifoQueue(log) });
    const first = executor.complete({ prompt: 'first' });
    const rest = [0, 9, 5].map((priority) => executor.complete({ prompt: `p${priority}` }, { priority }));
    await Promise.all([first, ...rest]);
    // FIFO: priority is ignored, as the queue decides.
    expect(provider.calls.map((c) => c.prompt)).toEqual(['first', 'p0', 'p9', 'p5']);
    expect(log).toHaveLength(4);
    await executor.close();
  });

  it('refuses a queue factory that returns no queue, before any call', () => {
    const provider = scriptedProvider([{ reply: 'ok' }]);
    expect(() => createExecutor({ provider, queue: (() => undefined) as never })).toThrow(/must return a queue/);
    expect(() => createExecutor({ provider, queue: (() => ({ enqueue() {} })) as never })).toThrow(ShoalConfigError);
  });

  it('the default heap orders by priority, then arrival', () => {
    const queue = heapQueue<QueueEntry>();
    const entries = [0, 5, 5, 9].map((priority, seq) => ({ priority, seq, signal: undefined }));
    for (const entry of entries) queue.enqueue(entry);
    expect([queue.take(), queue.take(), queue.take(), queue.take()].map((e) => e?.seq)).toEqual([3, 1, 2, 0]);
    expect(queue.take()).toBeUndefined();
  });

  it('cancels the calls waiting on an aborted signal, and none other', async () => {
    const provider = scriptedProvider([{ reply: 'ok' }]);
    const executor = createExecutor({ provider, concurrency: 1, queue: fifoQueue([]) });
    const controller = new AbortController();
    const running = executor.complete({ prompt: 'running' });
    const leaving = executor.complete({ prompt: 'leaving' }, { signal: controller.signal });
    const staying = executor.complete({ prompt: 'staying' });
    controller.abort();
    await expect(leaving).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await running).text).toBe('ok');
    expect((await staying).text).toBe('ok');
    expect(provider.calls.map((c) => c.prompt)).toEqual(['running', 'staying']);
    await executor.close();
  });
});

describe('executor seams: the limiter', () => {
  it('asks the limiter it is given before every request, and tells it about 429s and answers', async () => {
    const seen: string[] = [];
    let open = false;
    const limiter: Limiter = {
      countsTokens: false,
      learnedPerSecond: 2,
      waitMs: () => (open ? 0 : 50),
      take: () => seen.push('take'),
      refund: () => seen.push('refund'),
      settle: () => seen.push('settle'),
      onRateLimited: () => seen.push('429') > 0,
      onAccepted: () => seen.push('accepted'),
    };
    const provider = scriptedProvider([{ reply: 'ok' }]);
    const clock = manualClock();
    const executor = createExecutor({ provider, limiter, clock });
    const call = executor.complete({ prompt: 'x' });
    await clock.advance(49);
    expect(provider.calls).toHaveLength(0); // the limiter said wait
    open = true;
    await clock.advance(1);
    expect((await call).text).toBe('ok');
    expect(seen).toEqual(['take', 'accepted']);
    expect(executor.metrics().learnedRequestsPerMinute).toBe(120);
    await executor.close();
  });

  it('refuses a limiter beside rateLimit, and an object that is not a limiter', () => {
    const provider = scriptedProvider([{ reply: 'ok' }]);
    const limiter = {
      countsTokens: false,
      learnedPerSecond: undefined,
      waitMs: () => 0,
      take() {},
      refund() {},
      settle() {},
      onRateLimited: () => false,
      onAccepted() {},
    };
    expect(() => createExecutor({ provider, limiter, rateLimit: { requestsPerMinute: 60 } })).toThrow(ShoalConfigError);
    expect(() => createExecutor({ provider, limiter: { waitMs: () => 0 } as never })).toThrow(/Expected `limiter` to be a limiter/);
    expect(() => createExecutor({ provider, clock: { now: () => 0 } as never })).toThrow(/manualClock/);
  });
});
