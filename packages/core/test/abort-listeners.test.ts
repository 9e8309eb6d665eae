import { describe, expect, it } from 'vitest';
import { whenAborted } from '../src/util/abort-listeners.js';

describe('whenAborted: one abort listener per signal', () => {
  it('calls every waiter still listening once, not those that stopped, and listens anew after an abort', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const stopA = whenAborted(controller.signal, () => calls.push('a'));
    whenAborted(controller.signal, () => calls.push('b'));
    // c stops d's listening while the abort runs: d is still called (it was listening when the abort came).
    let stopD: () => void = () => {};
    whenAborted(controller.signal, () => {
      calls.push('c');
      stopD();
    });
    stopD = whenAborted(controller.signal, () => calls.push('d'));
    stopA();
    controller.abort();
    controller.abort();
    expect(calls).toEqual(['b', 'c', 'd']);
    const other = new AbortController();
    const stop = whenAborted(other.signal, () => calls.push('e'));
    stop();
    stop(); // twice is harmless
    other.abort();
    expect(calls).toEqual(['b', 'c', 'd']);
  });
});
