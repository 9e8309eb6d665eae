import { describe, expect, it } from 'vitest';
import { PollSchedule } from '../src/providers/shortapi/poll-schedule.js';
import { seededRandom } from '../src/util/random.js';

/** Simulates jobs polled with the schedule, without real time: returns requests per job and the first-poll estimate. */
function simulate(schedule: PollSchedule, durations: () => number, jobs: number, inFlight = 1) {
  let requests = 0;
  const random = seededRandom(5);
  // Jobs start in batches of `inFlight` sharing one (possibly stale) estimate, as in a real executor.
  for (let done = 0; done < jobs; done += inFlight) {
    const batch = Array.from({ length: inFlight }, durations);
    const first = schedule.firstDelayMs();
    for (const d of batch) {
      let t = first;
      let polls = 1;
      for (let k = 2; t < d; k++) {
        t += schedule.nextDelayMs(k, random);
        polls++;
      }
      requests += 1 + polls;
      schedule.observe(polls === 1, first, inFlight);
    }
  }
  return { requestsPerJob: requests / jobs, estimate: schedule.estimateMs };
}

describe('PollSchedule', () => {
  it('learns a fixed job duration from far away, up or down', () => {
    const down = simulate(new PollSchedule({ initialDelayMs: 5000 }), () => 50, 400);
    expect(down.estimate).toBeGreaterThan(45);
    expect(down.estimate).toBeLessThan(60);
    const up = simulate(new PollSchedule({ initialDelayMs: 10 }), () => 700, 400);
    expect(up.estimate).toBeGreaterThan(690);
    expect(up.estimate).toBeLessThan(800);
  });

  it('stays near the target quantile with many jobs in flight on a stale estimate', () => {
    const random = seededRandom(11);
    const result = simulate(new PollSchedule(), () => 300 + 500 * random(), 4000, 64);
    // p80 of U(300, 800) is 700.
    expect(result.estimate).toBeGreaterThan(640);
    expect(result.estimate).toBeLessThan(760);
    expect(result.requestsPerJob).toBeLessThanOrEqual(3);
  });

  it('skips stale news: a job polled first far above the current estimate says nothing about it', () => {
    const schedule = new PollSchedule({ initialDelayMs: 100 });
    schedule.observe(true, 500);
    expect(schedule.estimateMs).toBe(100);
    schedule.observe(false, 20);
    expect(schedule.estimateMs).toBe(100);
    schedule.observe(true, 105);
    expect(schedule.estimateMs).toBeLessThan(100);
  });

  it('backs off after a miss, with jitter, up to the cap', () => {
    const schedule = new PollSchedule({ initialDelayMs: 1000, maxDelayMs: 1500, jitter: 0 });
    expect(schedule.nextDelayMs(2)).toBe(80);
    expect(schedule.nextDelayMs(3)).toBeCloseTo(160);
    expect(schedule.nextDelayMs(20)).toBe(1500);
    const jittered = new PollSchedule({ initialDelayMs: 1000, jitter: 0.2 });
    expect(jittered.nextDelayMs(2, () => 0)).toBeCloseTo(64);
    expect(jittered.nextDelayMs(2, () => 0.999999)).toBeCloseTo(96, 0);
  });

  it('moves a fraction of a step per report when many jobs share the estimate', () => {
    const alone = new PollSchedule({ initialDelayMs: 500 });
    const shared = new PollSchedule({ initialDelayMs: 500 });
    alone.observe(false);
    shared.observe(false, 500, 64);
    expect(alone.estimateMs).toBeGreaterThan(shared.estimateMs);
    expect(shared.estimateMs).toBeGreaterThan(500);
  });
});
