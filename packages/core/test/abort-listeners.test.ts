import { describe, expect, it } from 'vitest';
import { whenAborted } from '../src/util/abort-listeners.js';

describe('whenAborted: one abort listener per signal', () => {
  it('calls every waiter still listening once, not those that stopped, and listens anew after an abort', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const stopA = whenAborted(controller.signal, () => calls.push('a'));
    whenAborted(controller.signal, () => calls.push('b'));
    // c stops d's listening while the abort runs: d is not called, as with EventTarget listeners.
    let stopD: () => void = () => {};
    whenAborted(controller.signal, () => {
      calls.push('c');
      stopD();
    });
    stopD = whenAborted(controller.signal, () => calls.push('d'));
    stopA();
    controller.abort();
    controller.abort();
    expect(calls).toEqual(['b', 'c']);
    const other = new AbortController();
    const stop = whenAborted(other.signal, () => calls.push('e'));
    stop();
    stop(); // twice is harmless
    other.abort();
    expect(calls).toEqual(['b', 'c']);
  });

  it('runs the other callbacks when one throws, and reports the throw as uncaught', async () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      whenAborted(controller.signal, () => {
        throw new Error('boom');
      });
      whenAborted(controller.signal, () => calls.push('after'));
      controller.abort();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(calls).toEqual(['after']);
    expect(uncaught).toEqual([new Error('boom')]);
  });

  it('stops listening on the signal once no one waits (a composite signal is not kept alive by it)', () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
      added++;
      add(...args);
    }) as AbortSignal['addEventListener'];
    signal.removeEventListener = ((...args: Parameters<AbortSignal['removeEventListener']>) => {
      removed++;
      remove(...args);
    }) as AbortSignal['removeEventListener'];
    const stops = [whenAborted(signal, () => {}), whenAborted(signal, () => {})];
    expect([added, removed]).toEqual([1, 0]);
    for (const stop of stops) stop();
    expect([added, removed]).toEqual([1, 1]);
    whenAborted(signal, () => {})();
    expect([added, removed]).toEqual([2, 2]);
  });
});
