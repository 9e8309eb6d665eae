/**
 * The limiter seam: every request the executor sends asks it first, and it hears how the
 * server answered. The default (`RateLimiter`) holds token buckets for the configured
 * requests and tokens per minute and the rate learnt from 429s; `createExecutor({ limiter })`
 * takes another (a limit shared by many processes).
 *
 * The dispatcher decides between queued calls within one tick, so asking is synchronous:
 * `waitMs` answers at once from what the limiter knows, and the executor comes back after
 * that long. A backend whose state lives elsewhere (Redis) keeps a local lease of the
 * shared rate, refreshed asynchronously, and answers from it.
 */
export interface Limiter {
  /** Whether tokens are counted: calls' prompts are then tokenized before they are dispatched. */
  readonly countsTokens: boolean;
  /** The request rate learnt from the server's 429s, per second (undefined while none is learnt). */
  readonly learnedPerSecond: number | undefined;
  /** 0 when a request carrying `tokens` (0 for a poll) may leave now, else the milliseconds to wait before asking again. */
  waitMs(tokens: number): number;
  /** A request leaves now, with `tokens` reserved for a model call (0 for a poll). */
  take(tokens: number): void;
  /** A request taken for a call that sent nothing after all (it joined a flight, or the cache answered). */
  refund(tokens: number): void;
  /** A call's real token use is known: `used` replaces the `reserved` it took. */
  settle(reserved: number, used: number): void;
  /** The server answered 429 (its Retry-After, if any, capped at `maxPauseMs`). True when the rate dropped. */
  onRateLimited(retryAfterMs: number | undefined, maxPauseMs: number): boolean;
  /** The server answered anything but 429. */
  onAccepted(): void;
  /** Called once by the executor: `wake` makes the dispatcher ask again before the wait it was told is over (room came early). */
  onReady?(wake: () => void): void;
}
