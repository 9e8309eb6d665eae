import { NEVER_ABORTED } from './never-signal.js';

/** Resolves after `ms`, or rejects with `onAbort()` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal, onAbort?: () => unknown): Promise<void> {
  if (signal === NEVER_ABORTED) signal = undefined;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(onAbort ? onAbort() : signal.reason);
      return;
    }
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    const abort = () => {
      clearTimeout(timer);
      reject(onAbort ? onAbort() : signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
