/**
 * One 'abort' listener per signal, however many are waiting on it. Every HTTP request and
 * every wait of every call listens to its flight's signal, which, for a call without a signal
 * or timeout of its own, is the executor's one shutdown signal: thousands of listeners added
 * and removed on one EventTarget per second, at a cost that showed in the CPU profile. A Set
 * per signal costs a fraction of that. The listener goes once no one waits (Node keeps a
 * timeout or composite signal alive while it has one).
 */
interface Waiting {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const waiting = new WeakMap<AbortSignal, Waiting>();

/** Calls `onAbort` once when `signal` aborts (the signal must not be aborted yet); returns what stops listening. */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let entry = waiting.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      waiting.delete(signal);
      // The live set: a callback that another one stops before its turn is not called, as with EventTarget listeners.
      for (const callback of callbacks) {
        try {
          callback();
        } catch (error) {
          // As an EventTarget reports a listener that throws: uncaught, and the other callbacks still run.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
      callbacks.clear();
    };
    entry = { callbacks, listener };
    waiting.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = entry;
  callbacks.add(onAbort);
  return () => {
    if (!callbacks.delete(onAbort) || callbacks.size > 0 || signal.aborted) return;
    waiting.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
