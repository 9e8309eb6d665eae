import type { Clock, ClockTimer } from '../util/clock.js';
import type { Limiter } from './limiter.js';

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
 * order: polls, and creates sent again after a 429 or a 5xx. One at a time: each waiter is
 * let go only when the limiter has room for it, so waiters woken together never leave as a
 * burst. When the limiter is the bottleneck, the line and new calls take turns: after a
 * slot goes to the line while calls are queued, the next one goes to the dispatcher (it
 * asks `mayDispatch`), so polls of long jobs cannot starve new calls, nor new calls the
 * polls of jobs already paid for.
 */
export class RequestGate {
  readonly #limiter: Limiter;
  readonly #clock: Clock;
  readonly #onDrained: () => void;
  readonly #hasQueued: () => boolean;
  readonly #waiters: Waiter[] = [];
  #timer: ClockTimer | undefined;
  /** The next slot is the dispatcher's: the last one went to the line while calls were queued. */
  #dispatchTurn = false;

  /** `onDrained` wakes the dispatcher; `hasQueued` says whether new calls wait for it. */
  constructor(limiter: Limiter, clock: Clock, onDrained: () => void, hasQueued: () => boolean) {
    this.#limiter = limiter;
    this.#clock = clock;
    this.#onDrained = onDrained;
    this.#hasQueued = hasQueued;
  }

  /** Whether the dispatcher may start a call now: nothing waits here, or it is its turn. */
  get mayDispatch(): boolean {
    return this.#waiters.length === 0 || this.#dispatchTurn;
  }

  /** The dispatcher started a call: the next slot is the line's. */
  dispatched(): void {
    this.#dispatchTurn = false;
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
    if (this.#waiters.length === 0 && !(this.#dispatchTurn && this.#hasQueued()) && this.#limiter.waitMs(tokens) === 0) {
      this.#take(tokens);
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
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(reason);
    }
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#release();
      },
      this.#limiter.waitMs(this.#waiters[0]?.tokens ?? 0),
    );
  }

  #release(): void {
    while (this.#waiters.length > 0 && this.#limiter.waitMs(this.#waiters[0]!.tokens) === 0) {
      if (this.#dispatchTurn && this.#hasQueued()) {
        this.#onDrained(); // the dispatcher's turn: it starts a call if it can
        this.#dispatchTurn = false; // taken, or it could not start one (full, over budget): the line goes on
        continue;
      }
      const waiter = this.#waiters.shift()!;
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      this.#take(waiter.tokens);
      waiter.resolve();
    }
    if (this.#waiters.length > 0) this.#arm();
    else this.#idle();
  }

  #take(tokens: number): void {
    this.#limiter.take(tokens);
    if (this.#hasQueued()) this.#dispatchTurn = true;
  }

  #idle(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onDrained();
  }
}
