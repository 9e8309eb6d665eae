import { describe, expect, it } from 'vitest';
import { LearnedRate } from '../src/executor/learned-rate.js';
import { RateLimiter } from '../src/executor/rate-limiter.js';
import { seededRandom } from '../src/util/random.js';

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

  it('cuts by 20% on a later burst (429s of the old rate in the first second not counted), and climbs back 2% a second while it holds requests back without 429s', () => {
    const { clock, rate } = setup();
    const limited = () => rate.onRateLimited();
    for (let i = 0; i < 10; i++) rate.onAccepted();
    for (let i = 0; i < 10; i++) limited();
    expect(rate.perSecond).toBe(9); // cut at 2 of 12
    for (let i = 0; i < 20; i++) limited();
    expect(rate.perSecond).toBe(9); // within the second: the old rate's 429s
    clock.now += 1000;
    for (let i = 0; i < 10; i++) rate.onAccepted();
    expect(limited()).toBe(false);
    expect(limited()).toBe(true); // 2 of 12 since the cut
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
    for (let i = 0; i < 10; i++) rate.onAccepted();
    for (let i = 0; i < 3; i++) rate.onRateLimited();
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

  it("counts every request against requestsPerMinute, with one second's worth as the default burst, or the one given", () => {
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

/**
 * A client that wants `demand` requests a second, paced by a RateLimiter (nothing
 * configured: the learnt rate and Retry-After pauses), against a server that refuses over
 * `limit` requests in any second (with a Retry-After in whole seconds, as the emulator
 * sends it) and/or a `randomShare` of requests whatever the rate (without one). Simulated
 * time: exact and repeatable.
 */
function simulate(options: { seconds: number; demand: number; limit?: number; randomShare?: number; seed: number }) {
  const clock = { now: 0 };
  const limiter = new RateLimiter({}, () => clock.now);
  const random = seededRandom(options.seed);
  const window: number[] = [];
  const perSecond: { sent: number; refused: number }[] = [];
  for (let t = 0; t < options.seconds * 1000; t += 1000 / options.demand) {
    clock.now = t;
    if (limiter.waitMs(0) > 0) continue; // held back: the client tries again at its next tick
    limiter.take(0);
    const second = (perSecond[Math.floor(t / 1000)] ??= { sent: 0, refused: 0 });
    second.sent++;
    while (window.length > 0 && window[0]! <= t - 1000) window.shift();
    const overLimit = options.limit !== undefined && window.length >= options.limit;
    if (!overLimit && options.limit !== undefined) window.push(t);
    const refusedAtRandom = !overLimit && options.randomShare !== undefined && random() < options.randomShare;
    if (overLimit) limiter.onRateLimited(Math.ceil((window[0]! + 1000 - t) / 1000) * 1000, 120_000);
    else if (refusedAtRandom) limiter.onRateLimited(undefined, 120_000);
    else limiter.learned!.onAccepted();
    if (overLimit || refusedAtRandom) second.refused++;
  }
  const last = (seconds: number) =>
    perSecond.slice(-seconds).reduce((sum, s) => ({ sent: sum.sent + s.sent, refused: sum.refused + s.refused }), { sent: 0, refused: 0 });
  return { limiter, last };
}

describe('the learnt rate over simulated minutes', () => {
  it.each([3, 30, 300])('learns a server limit of %i a second: under 10%% of requests refused once learnt, at over 75%% of the limit (seeds 1-3)', (limit) => {
    for (let seed = 1; seed <= 3; seed++) {
      const { last } = simulate({ seconds: 300, demand: limit * 5, limit, seed });
      const { sent, refused } = last(60);
      expect(refused / sent).toBeLessThan(0.1);
      expect(sent - refused).toBeGreaterThan(0.75 * limit * 60);
    }
  });

  it('does not pace a server that refuses 20% of requests at random without a Retry-After: that is for the retry policy', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const { limiter, last } = simulate({ seconds: 120, demand: 100, randomShare: 0.2, seed });
      expect(limiter.learned!.perSecond).toBe(Infinity);
      expect(last(60).sent).toBe(100 * 60);
    }
  });
});
