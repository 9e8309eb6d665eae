import type { Clock, ClockTimer } from '../util/clock.js';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** A clock that moves only when a test moves it: see `manualClock()`. */
export interface ManualClock extends Clock {
  /** Timers not yet fired. */
  readonly pending: number;
  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in time order
   * (each at its own time), and lets the promise jobs they start run between them.
   */
  advance(ms: number): Promise<void>;
  /** Moves time to the next timer and fires that one timer (the earliest set, when several are due together). False when none is set. */
  next(): Promise<boolean>;
}

/** Lets pending promise jobs, and the ones they queue, run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A fake clock for tests of backoff, rate limits, polling and timeouts: time starts at
 * `start` and stands still until `advance()` or `next()` moves it.
 */
export function manualClock(start = 0): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, Pending>();
  const due = (until: number): Pending | undefined => {
    let first: Pending | undefined;
    for (const timer of timers.values())
      if (timer.at <= until && (first === undefined || timer.at < first.at || (timer.at === first.at && timer.id < first.id))) first = timer;
    return first;
  };
  const fire = async (timer: Pending): Promise<void> => {
    timers.delete(timer.id);
    if (timer.at > now) now = timer.at;
    timer.callback();
    await settle();
  };
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = ++seq;
      timers.set(id, { id, at: now + Math.max(0, ms), callback });
      return { id } as unknown as ClockTimer;
    },
    clearTimeout(timer) {
      if (timer !== undefined) timers.delete((timer as unknown as { id: number }).id);
    },
    get pending() {
      return timers.size;
    },
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (let timer = due(until); timer; timer = due(until)) await fire(timer);
      now = until;
      await settle();
    },
    async next() {
      await settle();
      const timer = due(Infinity);
      if (!timer) return false;
      await fire(timer);
      return true;
    },
  };
}
