import type { RateLimiter } from './rate-limiter.js';

interface Waiter {
  /** Tokens reserved against tokensPerMinute: 0 for a poll, the call's estimate for a retried create. */
  readonly tokens: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * Where requests of calls already running wait for the rate limiter, one line in arrival
 * order: polls, and creates sent again after a 429 or a 5xx. They go before new calls (a
 * poll finishes a job already paid for, a new call starts another), so the dispatcher
 * starts nothing while a request waits here (it asks `waiting`), and is woken when the line
 * is empty again. One at a time: each waiter is let go only when the limiter has room for
 * it, so waiters woken together never leave as a burst.
 */
export class RequestGate {
  readonly #limiter: RateLimiter;
  readonly #onDrained: () => void;
  readonly #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(limiter: RateLimiter, onDrained: () => void) {
    this.#limiter = limiter;
    this.#onDrained = onDrained;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a slot for one request (carrying `tokens`): undefined when it may go at once (no
   * promise made), else a promise that resolves once the slot is taken, or rejects with the
   * signal's reason.
   */
  acquire(signal: AbortSignal, tokens = 0): Promise<void> | undefined {
    if (this.#waiters.length === 0 && this.#limiter.waitMs(tokens) === 0) {
      this.#limiter.take(tokens);
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter: Waiter = {
        tokens,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(signal.reason);
          if (this.#waiters.length === 0) this.#idle();
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#arm();
    });
  }

  /** Rejects every waiting request (the executor is shutting down). */
  close(reason: unknown): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(reason);
    }
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
    }, this.#limiter.waitMs(this.#waiters[0]?.tokens ?? 0));
  }

  #release(): void {
    while (this.#waiters.length > 0 && this.#limiter.waitMs(this.#waiters[0]!.tokens) === 0) {
      const waiter = this.#waiters.shift()!;
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      this.#limiter.take(waiter.tokens);
      waiter.resolve();
    }
    if (this.#waiters.length > 0) this.#arm();
    else this.#idle();
  }

  #idle(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onDrained();
  }
}
