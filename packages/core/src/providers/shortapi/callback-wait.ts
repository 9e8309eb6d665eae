import type { Clock, ClockTimer } from '../../util/clock.js';
import { NEVER_ABORTED } from '../../util/never-signal.js';
import type { CallbackTicket } from './callback-receiver.js';

/**
 * Waits for a job's callback until `deadlineMs` on `clock`: what it brought, or undefined
 * when the deadline passed first (the caller then asks by query). Rejects with
 * `abortError()` as soon as `signal` fires.
 */
export async function awaitCallback(ticket: CallbackTicket, deadlineMs: number, signal: AbortSignal, abortError: () => unknown, clock: Clock) {
  let timer: ClockTimer | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      ticket.arrived,
      new Promise<undefined>((resolve) => {
        timer = clock.setTimeout(() => resolve(undefined), deadlineMs);
      }),
      new Promise<never>((_, reject) => {
        if (signal === NEVER_ABORTED) return;
        if (signal.aborted) {
          reject(abortError());
          return;
        }
        onAbort = () => reject(abortError());
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clock.clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
