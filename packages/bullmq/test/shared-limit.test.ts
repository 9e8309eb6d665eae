import { describe, expect, it } from 'vitest';
import { SharedLimiter } from '../src/shared-limit.js';
import { redisAvailable } from './redis-server.js';
import { redisForFile } from './setup.js';

describe.skipIf(!redisAvailable)('SharedLimiter: one bucket in Redis for every worker', () => {
  const suite = redisForFile();

  /** Resolves once the limiter lets a request go (asking Redis, and woken when the lease came). */
  function granted(limiter: SharedLimiter): Promise<void> {
    return new Promise((resolve) => {
      limiter.onReady(() => {
        if (limiter.waitMs(0) === 0) resolve();
      });
      if (limiter.waitMs(0) === 0) resolve();
    });
  }

  it('lets a request go under a limit below one a second (the bucket holds at least one)', async () => {
    const limiter = new SharedLimiter(suite.client(), 'test:slow', { requestsPerMinute: 30 });
    await granted(limiter); // before the bucket held at least one request, this waited forever
    limiter.take(0);
    limiter.close();
  });

  it('shares one bucket between two limiters: what one took, the other cannot', async () => {
    const a = new SharedLimiter(suite.client(), 'test:shared', { requestsPerMinute: 120 }); // 2 a second, a burst of 2
    const b = new SharedLimiter(suite.client(), 'test:shared', { requestsPerMinute: 120 });
    await granted(a);
    a.take(0);
    await granted(b);
    b.take(0);
    // Both requests of the burst are gone: a third must wait for the refill (about half a second).
    expect(a.waitMs(0)).toBeGreaterThan(0);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const answer = await new Promise<number>((resolve) => {
      const check = () => {
        const wait = a.waitMs(0);
        if (wait > 20) resolve(wait);
        else setImmediate(check);
      };
      check();
    });
    expect(answer).toBeGreaterThan(20);
    expect(answer).toBeLessThanOrEqual(500);
    a.close();
    b.close();
  });

  it("cuts every worker's rate when one of them sees a burst of 429s", async () => {
    const a = new SharedLimiter(suite.client(), 'test:learn', { requestsPerMinute: 600 }); // 10 a second
    const b = new SharedLimiter(suite.client(), 'test:learn', { requestsPerMinute: 600 });
    await granted(a);
    a.take(0);
    await granted(b);
    b.take(0);
    expect(a.learnedPerSecond).toBeUndefined();
    expect(b.learnedPerSecond).toBeUndefined();
    // Ten answers taken, then 429s asking to wait a millisecond: the second makes a burst.
    for (let i = 0; i < 10; i++) a.onAccepted();
    expect(a.onRateLimited(1, 60_000)).toBe(false);
    expect(a.onRateLimited(1, 60_000)).toBe(true);
    // The other worker hears of the cut at its next lease: under what was configured.
    await new Promise<void>((resolve) => {
      const check = () => {
        if (b.waitMs(0) === 0) b.take(0);
        if (b.learnedPerSecond !== undefined) resolve();
        else setImmediate(check);
      };
      check();
    });
    expect(b.learnedPerSecond).toBeGreaterThan(0);
    expect(b.learnedPerSecond).toBeLessThan(10);
    a.close();
    b.close();
  });
});
