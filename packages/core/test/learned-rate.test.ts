import { describe, expect, it } from 'vitest';
import { LearnedRate } from '../src/executor/learned-rate.js';
import { RateLimiter } from '../src/executor/rate-limiter.js';

/** The rate learnt from 429s, on an injected clock: no sleeping, exact figures. */
describe('LearnedRate', () => {
  const setup = () => {
    const clock = { now: 10_000 };
    return { clock, rate: new LearnedRate(() => clock.now) };
  };

  it('is unlimited until a burst of 429s, then paces just below what the server let through in the last second', () => {
    const { clock, rate } = setup();
    expect(rate.waitMs(clock.now)).toBe(0);
    for (let i = 0; i < 10; i++) rate.onAccepted();
    expect(rate.onRateLimited()).toBe(false); // one 429 is not a burst
    expect(rate.perSecond).toBe(Infinity);
    expect(rate.onRateLimited()).toBe(true); // 2 of 12
    expect(rate.perSecond).toBe(9); // 10 let through, 90% of it
    rate.take(clock.now);
    expect(rate.waitMs(clock.now)).toBe(Math.ceil(1000 / 9));
  });

  it('ignores scattered 429s that are under a tenth of the answers', () => {
    const { clock, rate } = setup();
    for (let i = 0; i < 30; i++) rate.onAccepted();
    expect(rate.onRateLimited()).toBe(false);
    clock.now += 500;
    for (let i = 0; i < 30; i++) rate.onAccepted();
    expect(rate.onRateLimited()).toBe(false); // 2 of 62
    expect(rate.perSecond).toBe(Infinity);
  });

  it('cuts by 20% on a later burst, at most once a second, and climbs back 2% a second while it holds requests back without 429s', () => {
    const { clock, rate } = setup();
    for (let i = 0; i < 10; i++) rate.onAccepted();
    rate.onRateLimited();
    rate.onRateLimited();
    expect(rate.perSecond).toBe(9);
    rate.onRateLimited();
    rate.onRateLimited();
    expect(rate.perSecond).toBe(9); // within the second: the 429s of the old rate
    clock.now += 1000;
    expect(rate.onRateLimited()).toBe(true); // the third since the cut
    expect(rate.perSecond).toBeCloseTo(7.2, 10);
    // Two seconds on, held back, no 429: +2%.
    clock.now += 2000;
    rate.take(clock.now);
    expect(rate.waitMs(clock.now)).toBeGreaterThan(0); // held back
    rate.take(clock.now);
    expect(rate.perSecond).toBeCloseTo(7.2 * 1.02, 10);
  });

  it('gives back the slot of a request not sent', () => {
    const { clock, rate } = setup();
    for (let i = 0; i < 4; i++) rate.onAccepted();
    rate.onRateLimited();
    rate.onRateLimited();
    rate.take(clock.now);
    expect(rate.waitMs(clock.now)).toBeGreaterThan(0);
    rate.refund(clock.now);
    expect(rate.waitMs(clock.now)).toBe(0);
  });
});

describe('RateLimiter and 429s', () => {
  it('holds every request for a Retry-After, and does not learn from Retry-After: 0', () => {
    let now = 0;
    const limiter = new RateLimiter({}, () => now);
    limiter.onRateLimited(0);
    limiter.onRateLimited(0);
    limiter.onRateLimited(0);
    expect(limiter.learned!.perSecond).toBe(Infinity);
    expect(limiter.waitMs(0)).toBe(0);
    limiter.onRateLimited(1500);
    expect(limiter.waitMs(0)).toBe(1500);
    now = 1500;
    expect(limiter.waitMs(0)).toBe(0);
  });

  it('counts every request against requestsPerMinute, with one second\'s worth as the default burst, or the one given', () => {
    const now = 0;
    const limiter = new RateLimiter({ requestsPerMinute: 120, adaptive: false }, () => now);
    expect(limiter.requests!.capacity).toBe(2);
    expect(limiter.learned).toBeUndefined();
    limiter.take(0);
    limiter.take(0);
    expect(limiter.waitMs(0)).toBe(500);
    expect(new RateLimiter({ requestsPerMinute: 120, requestBurst: 10 }, () => now).requests!.capacity).toBe(10);
  });
});
