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

  it('three flights left in a row, each while waiting for the one before, all unwind: the next call gets the job', async () => {
    const { executor, emulator } = await rig({ createLatencyMs: Infinity, latencyMs: 5, rules: [{ match: 'chain', reply: 'end of the chain' }] });
    const first = new AbortController();
    const a = executor.complete({ prompt: 'chain' }, { signal: first.signal }).catch((e: unknown) => e);
    await until(() => emulator.jobs.length === 1);
    first.abort();
    await a;
    for (let i = 0; i < 2; i++) {
      const leaving = new AbortController();
      const started = new Promise((resolve) => executor.events.once('call-start', resolve));
      const waiting = executor.complete({ prompt: 'chain' }, { signal: leaving.signal }).catch((e: unknown) => e);
      await started;
      leaving.abort();
      await waiting;
    }
    emulator.releaseCreates();
    expect((await executor.complete({ prompt: 'chain' })).text).toBe('end of the chain');
    expect(emulator.stats().jobs).toBe(1);
    await executor.close();
    expect(executor.metrics().running).toBe(0);
  });

  it('keeps a lost create on record when a caller leaves while its flight reads the cache', async () => {
    // A cache that answers late, as a store on disk or over the network may.
    let slow: (() => void) | undefined;
    const cache = {
      get: () => new Promise<undefined>((resolve) => (slow = () => resolve(undefined))),
      set: () => {},
    };
    const { executor, emulator } = await rig(
      { createLatencyMs: Infinity, rules: [{ match: 'lost again', reply: { text: 'x', dropCreate: true } }] },
      {},
      { cache },
    );
    const first = new AbortController();
    const a = executor.complete({ prompt: 'lost again' }, { signal: first.signal }).catch((e: unknown) => e);
    await until(() => slow !== undefined);
    slow!();
    await until(() => emulator.jobs.length === 1);
    first.abort();
    await a;
    emulator.releaseCreates(); // the answer is lost
    await until(() => executor.metrics().running === 0);
    slow = undefined;
    const second = new AbortController();
    const b = executor.complete({ prompt: 'lost again' }, { signal: second.signal }).catch((e: unknown) => e);
    await until(() => slow !== undefined); // its flight is reading the cache
    second.abort(); // and its caller leaves meanwhile
    slow!();
    await b;
    slow = undefined;
    const c = executor.complete({ prompt: 'lost again' }).catch((e: unknown) => e);
    await until(() => slow !== undefined);
    slow!();
    const error = await c;
    expect(AmbiguousCreateError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/earlier call of this process/);
    expect(emulator.stats().creates).toBe(1);
  });
});
