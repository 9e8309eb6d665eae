/**
 * One 'abort' listener per signal, however many are waiting on it. Every HTTP request and
 * every wait of every call listens to its flight's signal, which, for a call without a signal
 * or timeout of its own, is the executor's one shutdown signal: thousands of listeners added
 * and removed on one EventTarget per second, at a cost that showed in the CPU profile. A Set
 * per signal costs a fraction of that.
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` once when `signal` aborts (the signal must not be aborted yet); returns what stops listening. */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let callbacks = waiting.get(signal);
  if (callbacks === undefined) {
    const set = new Set<() => void>();
    callbacks = set;
    waiting.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        // A copy: a callback may stop another one's listening (or its own) while this runs.
        for (const callback of [...set]) callback();
        set.clear();
      },
      { once: true },
    );
  }
  const set = callbacks;
  set.add(onAbort);
  return () => {
    set.delete(onAbort);
  };
}
