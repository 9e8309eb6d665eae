import { describe, expect, it } from 'vitest';
import { ExecutorClosedError } from '../src/errors.js';
import { manualClock } from '../src/testing/manual-clock.js';
import { rig, until } from './helpers.js';

/** Without a store, shutdown() still stops everything: nothing is sent once it has resolved, and the process may exit. */
describe('shutdown without a store', () => {
  it('leaves no call polling once shutdown() resolves', async () => {
    // The executor's clock is a manual one: polls, the deadline and "later" are all fake time.
    const clock = manualClock();
    const { executor, emulator } = await rig(
      { latencyMs: Infinity, rules: [{ match: 'long ', reply: 'never' }] },
      { poll: { initialDelayMs: 5, maxDelayMs: 20 } },
      { clock },
    );
    const calls = Array.from({ length: 10 }, (_, i) => executor.complete({ prompt: `long ${i}` }).catch((e: unknown) => e));
    for (let i = 0; i < 10_000 && emulator.stats().queries < 10; i++) await clock.advance(5);
    expect(emulator.stats().queries).toBeGreaterThanOrEqual(10);
    let resolved = false;
    const shutdown = executor.shutdown({ deadlineMs: 50 }).finally(() => (resolved = true));
    for (let i = 0; i < 10_000 && !resolved; i++) await clock.advance(50);
    const report = await shutdown;
    expect(report).toMatchObject({ abandoned: 10, clean: false });
    expect(executor.metrics().running).toBe(0);
    const errors = await Promise.all(calls);
    expect(errors.every((e) => ExecutorClosedError.isInstance(e))).toBe(true);
    // Nothing is left to send: no timer is set, and a minute of fake time later nothing new went out.
    const sent = executor.metrics().requests;
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(executor.metrics().requests).toBe(sent);
    expect(emulator.stats().creates + emulator.stats().queries).toBeLessThanOrEqual(sent);
  });

  it('keeps its deadline with a create in flight: after a short grace the create is cut off, and nothing is sent after', async () => {
    const clock = manualClock();
    const { executor, emulator } = await rig(
      { createLatencyMs: Infinity, rules: [{ match: 'slow create', reply: 'x' }] },
      { requestTimeoutMs: 120_000 },
      { clock },
    );
    const call = executor.complete({ prompt: 'slow create' }).catch((e: unknown) => e);
    await until(() => emulator.jobs.length === 1); // sent, its answer held by the server
    let resolved = false;
    const shutdown = executor.shutdown({ deadlineMs: 50 }).finally(() => (resolved = true));
    await clock.advance(50); // the deadline: the call is abandoned, the create still waits for its answer
    expect(resolved).toBe(false);
    for (let i = 0; i < 1000 && !resolved; i++) await clock.advance(100); // the create's grace (1 s), then it is cut off
    const report = await shutdown;
    expect(report).toMatchObject({ abandoned: 1, clean: false });
    expect(ExecutorClosedError.isInstance(await call)).toBe(true);
    expect(executor.metrics().running).toBe(0);
    expect(executor.metrics().requests).toBe(1);
  });
});
