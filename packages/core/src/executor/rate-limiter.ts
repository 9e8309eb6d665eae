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

export interface RateLimitOptions {
  /** Model calls started per minute (retries count too). */
  readonly requestsPerMinute?: number;
  /** Input tokens (counted with the o200k tokenizer) plus reserved output tokens, per minute. */
  readonly tokensPerMinute?: number;
  /** Output tokens reserved per call against `tokensPerMinute` until the real usage is known. @default 256 */
  readonly reservedOutputTokens?: number;
}

export class RateLimiter {
  readonly requests: TokenBucket | undefined;
  readonly tokens: TokenBucket | undefined;

  constructor(options: RateLimitOptions, now: () => number) {
    // Bursts of at most 6 seconds' worth, so a fresh executor does not fire a whole minute's quota at once.
    const burst = (perMinute: number) => Math.max(1, Math.ceil(perMinute / 10));
    this.requests = options.requestsPerMinute ? new TokenBucket(options.requestsPerMinute, now, burst(options.requestsPerMinute)) : undefined;
    this.tokens = options.tokensPerMinute ? new TokenBucket(options.tokensPerMinute, now, burst(options.tokensPerMinute)) : undefined;
  }

  /** 0 when a call of `tokens` may start now, else how long to wait. */
  waitMs(tokens: number): number {
    return Math.max(this.requests?.waitMs(1) ?? 0, this.tokens?.waitMs(tokens) ?? 0);
  }

  take(tokens: number): void {
    this.requests?.take(1);
    this.tokens?.take(tokens);
  }

  refund(tokens: number): void {
    this.requests?.refund(1);
    this.tokens?.refund(tokens);
  }
}
