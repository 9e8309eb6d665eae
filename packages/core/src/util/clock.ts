/**
 * Where the executor reads the time and sets its timers. The default is the process's own
 * (`performance.now()` and `setTimeout`); tests pass a manual clock (`manualClock()` from
 * `@shoal/core/testing`) and step it, so backoff, rate limits and timeouts run on fake time.
 * `now` is monotonic milliseconds; its origin does not matter.
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): ClockTimer;
  /** Cancels a timer (nothing for `undefined` or one that fired). */
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** A timer handle, opaque to the executor. */
export type ClockTimer =
  | {
      /** A brand, never set: keeps other objects from passing for a timer. */
      readonly __clockTimer?: never;
    }
  | NodeJS.Timeout;

/** Node's timers overflow past 2^31-1 ms (about 24.8 days) and fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, MAX_TIMER_MS)),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
