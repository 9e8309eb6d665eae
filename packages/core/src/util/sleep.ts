import { whenAborted } from './abort-listeners.js';
import { type Clock, systemClock } from './clock.js';
import { NEVER_ABORTED } from './never-signal.js';

/** Resolves after `ms` on `clock`, or rejects with `onAbort()` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal, onAbort?: () => unknown, clock: Clock = systemClock): Promise<void> {
  if (signal === NEVER_ABORTED) signal = undefined;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(onAbort ? onAbort() : signal.reason);
      return;
    }
    let unlisten: (() => void) | undefined;
    const done = () => {
      unlisten?.();
      resolve();
    };
    const timer = clock.setTimeout(done, Math.max(0, ms));
    if (signal)
      unlisten = whenAborted(signal, () => {
        clock.clearTimeout(timer);
        reject(onAbort ? onAbort() : signal.reason);
      });
  });
}

/** True when `work` is not done within `ms`. */
export async function lateBy(work: Promise<void>, ms: number, clock: Clock = systemClock): Promise<boolean> {
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  try {
    return await Promise.race([work.then(() => false), new Promise<boolean>((resolve) => (timer = clock.setTimeout(() => resolve(true), ms)))]);
  } finally {
    clock.clearTimeout(timer);
  }
}
