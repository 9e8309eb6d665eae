import { describe, expect, it } from 'vitest';
import { AbortError, AmbiguousCreateError } from '../src/errors.js';
import { rig, until } from './helpers.js';

/**
 * What a call leaves when its callers stop waiting while its create is in flight or its job
 * runs, and what the same request made again does with it: re-attach to the job, report the
 * lost create, never pay twice, never hang.
 */
describe('calls left by their callers', () => {
  it('a flight left while it waited for an earlier one to unwind does not wait for itself: the next call gets the job, and close() resolves', async () => {
    const { executor, emulator } = await rig({ createLatencyMs: Infinity, latencyMs: 5, rules: [{ match: 'same', reply: 'the answer' }] });
    const first = new AbortController();
    const a = executor.complete({ prompt: 'same' }, { signal: first.signal }).catch((e: unknown) => e);
    await until(() => emulator.jobs.length === 1); // the job is made; its create's answer is held
    first.abort();
    expect(AbortError.isInstance(await a)).toBe(true);
    const second = new AbortController();
    const started = new Promise((resolve) => executor.events.once('call-start', resolve));
    const b = executor.complete({ prompt: 'same' }, { signal: second.signal }).catch((e: unknown) => e);
    await started; // its flight now waits for the first one to unwind
    second.abort();
    expect(AbortError.isInstance(await b)).toBe(true);
    emulator.releaseCreates();
    const c = await executor.complete({ prompt: 'same' });
    expect(c.text).toBe('the answer');
    expect(emulator.stats().jobs).toBe(1);
    expect(executor.metrics().recovery.resumed).toBe(1);
    await executor.close();
    expect(executor.metrics().running).toBe(0);
  });

  it('keeps a left job for the next call when a caller leaves before its flight could take it', async () => {
    const { executor, emulator } = await rig({ latencyMs: Infinity, rules: [{ match: 'kept', reply: 'kept answer' }] });
    const first = new AbortController();
    const a = executor.complete({ prompt: 'kept' }, { signal: first.signal }).catch((e: unknown) => e);
    await until(() => executor.metrics().jobs === 1);
    first.abort();
    await a;
    const second = new AbortController();
    const b = executor.complete({ prompt: 'kept' }, { signal: second.signal }).catch((e: unknown) => e);
    second.abort(); // at once: before its flight has looked
    await b;
    emulator.finish(emulator.jobs[0]!.id);
    const c = await executor.complete({ prompt: 'kept' });
    expect(c.text).toBe('kept answer');
    expect(emulator.stats().jobs).toBe(1);
    expect(executor.metrics().costUsd).toBe(Number(emulator.jobs[0]!.amountUsd));
  });

  it('reports a create whose answer was lost after its callers left, to the same request made again, instead of paying again', async () => {
    const { executor, emulator } = await rig({ createLatencyMs: Infinity, rules: [{ match: 'lost', reply: { text: 'x', dropCreate: true } }] });
    const first = new AbortController();
    const a = executor.complete({ prompt: 'lost' }, { signal: first.signal }).catch((e: unknown) => e);
    await until(() => emulator.jobs.length === 1);
    first.abort();
    await a;
    emulator.releaseCreates(); // the answer is lost: the socket closes before it
    const error = await executor.complete({ prompt: 'lost' }).catch((e: unknown) => e);
    expect(AmbiguousCreateError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/earlier call of this process for the same request/);
    expect(emulator.stats().creates).toBe(1);
  });
});
