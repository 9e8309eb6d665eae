import { describe, expect, it } from 'vitest';
import { ExecutorClosedError } from '../src/errors.js';
import { rig, until } from './helpers.js';

/** Without a store, shutdown() still stops everything: nothing is sent once it has resolved, and the process may exit. */
describe('shutdown without a store', () => {
  it('leaves no call polling once shutdown() resolves', async () => {
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: 'long ', reply: 'never' }] }, { poll: { initialDelayMs: 5, maxDelayMs: 20 } });
    const calls = Array.from({ length: 10 }, (_, i) => executor.complete({ prompt: `long ${i}` }).catch((e: unknown) => e));
    await until(() => emulator.stats().queries >= 10);
    const report = await executor.shutdown({ deadlineMs: 50 });
    expect(report).toMatchObject({ abandoned: 10, clean: false });
    expect(executor.metrics().running).toBe(0);
    const errors = await Promise.all(calls);
    expect(errors.every((e) => ExecutorClosedError.isInstance(e))).toBe(true);
    const sent = executor.metrics().requests;
    // Many poll intervals later, still nothing new: the server saw at most what was sent before shutdown() resolved.
    // Still a real wait: "nothing is sent later" needs time to pass, and the executor's poll timers run on the real
    // clock. Once timers go through the injected `clock`, this becomes an advance of fake time.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(executor.metrics().requests).toBe(sent);
    expect(emulator.stats().creates + emulator.stats().queries).toBeLessThanOrEqual(sent);
  });

  it('keeps its deadline with a create in flight: after a short grace the create is cut off, and nothing is sent after', async () => {
    const { executor, emulator } = await rig({ createLatencyMs: Infinity, rules: [{ match: 'slow create', reply: 'x' }] }, { requestTimeoutMs: 120_000 });
    const call = executor.complete({ prompt: 'slow create' }).catch((e: unknown) => e);
    await until(() => emulator.jobs.length === 1); // sent, its answer held by the server
    const report = await executor.shutdown({ deadlineMs: 50 });
    expect(report).toMatchObject({ abandoned: 1, clean: false });
    expect(ExecutorClosedError.isInstance(await call)).toBe(true);
    expect(executor.metrics().running).toBe(0);
    expect(executor.metrics().requests).toBe(1);
  });
});

