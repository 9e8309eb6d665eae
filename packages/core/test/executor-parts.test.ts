import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../src/executor/adaptive-concurrency.js';
import { MemoryCacheStore, requestKey } from '../src/executor/cache.js';
import { PriorityHeap } from '../src/executor/heap.js';
import { CostLedger } from '../src/executor/ledger.js';
import { RateLimiter, TokenBucket } from '../src/executor/rate-limiter.js';
import { GPT_5_4_NANO_PRICES } from '../src/providers/prices.js';
import { seededRandom } from '../src/util/random.js';

describe('PriorityHeap', () => {
  it('pops higher priority first and arrival order within a priority', () => {
    const heap = new PriorityHeap<{ priority: number; seq: number }>();
    const random = seededRandom(3);
    const items = Array.from({ length: 5000 }, (_, seq) => ({ priority: Math.floor(random() * 5), seq }));
    for (const item of items) heap.push(item);
    const out: { priority: number; seq: number }[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    const expected = [...items].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    expect(out).toEqual(expected);
    expect(heap.pop()).toBeUndefined();
  });
});

describe('TokenBucket and RateLimiter', () => {
  it('refills with the injected clock, never sleeping', () => {
    let now = 0;
    const bucket = new TokenBucket(60, () => now); // one per second, burst 60
    bucket.take(60);
    expect(bucket.waitMs(1)).toBe(1000);
    now = 500;
    expect(bucket.waitMs(1)).toBe(500);
    now = 1000;
    expect(bucket.waitMs(1)).toBe(0);
  });

  it('waits for the slower of requests and tokens', () => {
    let now = 0;
    const limiter = new RateLimiter({ requestsPerMinute: 600, tokensPerMinute: 6000 }, () => now);
    expect(limiter.tokens!.capacity).toBe(600); // bursts of 6 seconds' worth
    limiter.take(600);
    expect(limiter.waitMs(100)).toBe(1000); // 100 tokens at 100/s
    now = 1000;
    expect(limiter.waitMs(100)).toBe(0);
    expect(limiter.requests!.capacity).toBe(10); // bursts of one second's worth
    for (let i = 0; i < 10; i++) limiter.requests!.take(1);
    expect(limiter.waitMs(1)).toBe(100); // requests: 10/s
  });

  it('lets an oversized call through on a full bucket rather than blocking forever', () => {
    const bucket = new TokenBucket(100, () => 0);
    expect(bucket.waitMs(1000)).toBe(0);
  });
});

describe('AdaptiveConcurrency', () => {
  it('cuts on a burst of 429s and climbs back once they stop', () => {
    let now = 0;
    const c = new AdaptiveConcurrency(20, () => now, 1000, 3);
    expect(c.onRateLimited()).toBe(false);
    expect(c.onRateLimited()).toBe(false);
    expect(c.onRateLimited()).toBe(true);
    expect(c.current).toBe(14);
    now = 500;
    for (let i = 0; i < 5; i++) c.onRateLimited(); // within the cool-down: no second cut
    expect(c.current).toBe(14);
    now = 1600;
    expect(c.current).toBe(16);
    now = 2700;
    expect(c.current).toBe(18);
    now = 3800;
    expect(c.current).toBe(20);
    now = 9000;
    expect(c.current).toBe(20);
  });

  it('ignores scattered 429s below the burst threshold', () => {
    let now = 0;
    const c = new AdaptiveConcurrency(10, () => now, 1000, 3);
    for (let i = 0; i < 10; i++) {
      now += 600;
      c.onRateLimited();
    }
    expect(c.current).toBe(10);
  });

  it('ignores 429s that are a small share of the answers', () => {
    let now = 0;
    const c = new AdaptiveConcurrency(64, () => now, 2000, 5, 0.1);
    for (let i = 0; i < 2000; i++) {
      now += 1;
      if (i % 17 === 0)
        c.onRateLimited(); // 6% of answers
      else c.onAnswer();
    }
    expect(c.current).toBe(64);
  });
});

describe('CostLedger', () => {
  it('prefers the server amount, else prices usage at the vendor rates, and totals per tag', () => {
    const ledger = new CostLedger(GPT_5_4_NANO_PRICES);
    const usage = { inputTokens: 1_000_000, cachedInputTokens: 500_000, outputTokens: 1_000_000 };
    // 0.5M * 0.20 + 0.5M * 0.02 + 1M * 1.25 = 0.10 + 0.01 + 1.25
    expect(ledger.costOf(undefined, usage, 'usage')).toEqual({ pico: 1_360_000_000_000n, source: 'usage' });
    expect(ledger.costOf('0.02', usage, 'usage')).toEqual({ pico: 20_000_000_000n, source: 'amount' });
    ledger.record('job', usage, 1_360_000_000_000n, ['rank']);
    ledger.record('cached', undefined, 0n, ['rank', 'other']);
    expect(ledger.byTag().rank).toMatchObject({ calls: 2, cachedCalls: 1, costUsd: 1.36, inputTokens: 1_000_000 });
    expect(ledger.byTag().other).toMatchObject({ calls: 1, cachedCalls: 1, costUsd: 0 });
  });
});

describe('cache', () => {
  it('evicts the least recently used entry', () => {
    const store = new MemoryCacheStore(2);
    const entry = (text: string) => ({
      text,
      jobId: undefined,
      usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 },
      costUsd: 0,
      model: undefined,
    });
    store.set('a', entry('a'));
    store.set('b', entry('b'));
    store.get('a');
    store.set('c', entry('c'));
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')?.text).toBe('a');
  });

  it('keys on model, prompt and args, whatever the args order', () => {
    expect(requestKey('m', { prompt: 'p', args: { a: 1, b: 2 } })).toBe(requestKey('m', { prompt: 'p', args: { b: 2, a: 1 } }));
    expect(requestKey('m', { prompt: 'p' })).not.toBe(requestKey('n', { prompt: 'p' }));
    expect(requestKey('m', { prompt: 'p' })).not.toBe(requestKey('m', { prompt: 'p', args: { t: 1 } }));
  });
});
