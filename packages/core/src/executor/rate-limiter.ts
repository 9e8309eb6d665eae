import { LearnedRate } from './learned-rate.js';
import type { Limiter } from './limiter.js';

/**
 * Token buckets for requests per minute and tokens per minute. Time comes from an
 * injected clock, so tests step it instead of sleeping.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  #level: number;
  #at: number;

  constructor(perMinute: number, now: () => number, burst = perMinute) {
    // burst: how much may go at once from a full bucket.
    this.capacity = burst;
    this.#perMs = perMinute / 60_000;
    this.#now = now;
    this.#level = burst;
    this.#at = now();
  }

  #refill(): void {
    const now = this.#now();
    if (now > this.#at) {
      this.#level = Math.min(this.capacity, this.#level + (now - this.#at) * this.#perMs);
      this.#at = now;
    }
  }

  /** Milliseconds until `amount` is available (0 = now). An amount above capacity waits for a full bucket. */
  waitMs(amount: number): number {
    this.#refill();
    const need = Math.min(amount, this.capacity) - this.#level;
    return need <= 0 ? 0 : Math.ceil(need / this.#perMs);
  }

  /** Takes `amount` (may go negative for an over-capacity take or a later correction). */
  take(amount: number): void {
    this.#refill();
    this.#level -= amount;
  }

  /** Gives back tokens (e.g. when a call used fewer than were reserved). */
  refund(amount: number): void {
    this.#refill();
    this.#level = Math.min(this.capacity, this.#level + amount);
  }

  get level(): number {
    this.#refill();
    return this.#level;
  }
}

/** The executor's `rateLimit` option: requests and tokens per minute, as token buckets, and what it learns from 429s. */
export interface RateLimitOptions {
  /** Requests per minute, every one counted: creates, queries (polls) and retries. */
  readonly requestsPerMinute?: number;
  /** Input tokens (counted with the o200k tokenizer) plus reserved output tokens, per minute. */
  readonly tokensPerMinute?: number;
  /**
   * Requests that may go at once from a full bucket. @default one second's worth
   * (`requestsPerMinute / 60`, at least 1), so that at half a server's per-second limit no
   * window of one second ever sees more than that limit.
   */
  readonly requestBurst?: number;
  /** Tokens that may go at once from a full bucket. @default six seconds' worth (`tokensPerMinute / 10`) */
  readonly tokenBurst?: number;
  /** Output tokens reserved per call against `tokensPerMinute` (and a budget) until the real usage is known. @default 256 */
  readonly reservedOutputTokens?: number;
  /**
   * Learn the server's request rate from bursts of its 429s that carry a Retry-After
   * (creates and polls alike) and pace every request below it; honour a Retry-After for
   * all requests at once. @default true
   */
  readonly adaptive?: boolean;
}

/**
 * Every request the executor sends passes here: the configured buckets (requests and
 * tokens per minute), the rate learnt from 429s, and a pause for the server's Retry-After.
 */
export class RateLimiter implements Limiter {
  readonly requests: TokenBucket | undefined;
  readonly tokens: TokenBucket | undefined;
  readonly learned: LearnedRate | undefined;
  readonly #now: () => number;
  /** No request leaves before this (a Retry-After applies to the key, not to one request). */
  #pausedUntil = 0;

  constructor(options: RateLimitOptions, now: () => number) {
    this.#now = now;
    const rpm = options.requestsPerMinute;
    const tpm = options.tokensPerMinute;
    this.requests = rpm ? new TokenBucket(rpm, now, options.requestBurst ?? Math.max(1, Math.ceil(rpm / 60))) : undefined;
    this.tokens = tpm ? new TokenBucket(tpm, now, options.tokenBurst ?? Math.max(1, Math.ceil(tpm / 10))) : undefined;
    this.learned = options.adaptive === false ? undefined : new LearnedRate(now);
  }

  get countsTokens(): boolean {
    return this.tokens !== undefined;
  }

  get learnedPerSecond(): number | undefined {
    const perSecond = this.learned?.perSecond;
    return perSecond === undefined || perSecond === Infinity ? undefined : perSecond;
  }

  /** 0 when a request (carrying `tokens`, 0 for a poll) may leave now, else how long to wait. */
  waitMs(tokens: number): number {
    const now = this.#now();
    let wait = this.#pausedUntil - now;
    if (this.requests) wait = Math.max(wait, this.requests.waitMs(1));
    if (this.tokens && tokens > 0) wait = Math.max(wait, this.tokens.waitMs(tokens));
    if (this.learned) wait = Math.max(wait, this.learned.waitMs(now));
    return wait > 0 ? Math.ceil(wait) : 0;
  }

  /** A request leaves now (with `tokens` reserved for a model call; 0 for a poll). */
  take(tokens: number): void {
    this.requests?.take(1);
    if (tokens > 0) this.tokens?.take(tokens);
    this.learned?.take(this.#now());
  }

  /** A slot taken for a call that sent nothing after all (joined a flight, found in the cache). */
  refund(tokens: number): void {
    this.requests?.refund(1);
    if (tokens > 0) this.tokens?.refund(tokens);
    this.learned?.refund(this.#now());
  }

  settle(reserved: number, used: number): void {
    if (!this.tokens) return;
    if (used > reserved) this.tokens.take(used - reserved);
    else this.tokens.refund(reserved - used);
  }

  onAccepted(): void {
    this.learned?.onAccepted();
  }

  /**
   * The server answered 429: hold every request for its Retry-After (at most `maxPauseMs`:
   * a longer one fails the create that got it, by the retry policy, and must not freeze
   * every other call), and learn from it. Only a 429 that asks to wait (a Retry-After over
   * 0) teaches the rate: one without a Retry-After, or with `Retry-After: 0`, is a refusal
   * the retry policy handles. True when the learnt rate dropped.
   */
  onRateLimited(retryAfterMs: number | undefined, maxPauseMs = Infinity): boolean {
    if (retryAfterMs === undefined || retryAfterMs <= 0) return false;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + Math.min(retryAfterMs, maxPauseMs));
    return this.learned?.onRateLimited() ?? false;
  }
}
