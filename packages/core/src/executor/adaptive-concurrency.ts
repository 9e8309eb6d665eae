/**
 * Lowers the effective concurrency when 429s come in a burst and lets it climb back
 * when they stop (multiplicative decrease, additive increase, as TCP does).
 *
 * A burst: at least `burstCount` 429s within `windowMs`. After a decrease, no further
 * decrease for one window (the 429s already in flight belong to the old level). After a
 * full window without any 429, each further window adds back 10% of the configured limit.
 */
export class AdaptiveConcurrency {
  readonly max: number;
  #current: number;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #burstCount: number;
  #recent: number[] = [];
  #last429 = -Infinity;
  #lastChange = -Infinity;

  constructor(max: number, now: () => number, windowMs = 2000, burstCount = 5) {
    this.max = max;
    this.#current = max;
    this.#now = now;
    this.#windowMs = windowMs;
    this.#burstCount = burstCount;
  }

  /** The effective limit now (re-evaluated lazily: climbs back after quiet windows). */
  get current(): number {
    const now = this.#now();
    if (this.#current < this.max && now - this.#last429 >= this.#windowMs && now - this.#lastChange >= this.#windowMs) {
      this.#current = Math.min(this.max, this.#current + Math.max(1, Math.ceil(this.max * 0.1)));
      this.#lastChange = now;
    }
    return this.#current;
  }

  /** Records a 429; returns true when it lowered the limit. */
  onRateLimited(): boolean {
    const now = this.#now();
    this.#last429 = now;
    this.#recent.push(now);
    while (this.#recent.length > 0 && this.#recent[0]! < now - this.#windowMs) this.#recent.shift();
    if (this.#recent.length >= this.#burstCount && now - this.#lastChange >= this.#windowMs) {
      this.#current = Math.max(1, Math.floor(this.#current * 0.7));
      this.#lastChange = now;
      this.#recent = [];
      return true;
    }
    return false;
  }
}
