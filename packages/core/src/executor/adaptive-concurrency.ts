/**
 * Lowers the effective concurrency when 429s come in a burst and lets it climb back
 * when they stop (multiplicative decrease, additive increase, as TCP does).
 *
 * A burst: within the last `windowMs`, at least `burstCount` 429s and at least
 * `burstShare` of the answers were 429s. Scattered 429s below that share only retry.
 * After a decrease, no further decrease for one window (the 429s already in flight belong
 * to the old level). After a full window without any 429, each further window adds back
 * 10% of the configured limit.
 */
export class AdaptiveConcurrency {
  readonly max: number;
  #current: number;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #burstCount: number;
  readonly #burstShare: number;
  /** Answers in the window, in ten time buckets: [bucket start, ok, limited]. */
  readonly #buckets: { start: number; ok: number; limited: number }[] = [];
  #last429 = -Infinity;
  #lastChange = -Infinity;

  constructor(max: number, now: () => number, windowMs = 2000, burstCount = 5, burstShare = 0.1) {
    this.max = max;
    this.#current = max;
    this.#now = now;
    this.#windowMs = windowMs;
    this.#burstCount = burstCount;
    this.#burstShare = burstShare;
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

  #bucket(now: number) {
    const width = this.#windowMs / 10;
    while (this.#buckets.length > 0 && this.#buckets[0]!.start <= now - this.#windowMs) this.#buckets.shift();
    let last = this.#buckets[this.#buckets.length - 1];
    if (!last || now - last.start >= width) {
      last = { start: now, ok: 0, limited: 0 };
      this.#buckets.push(last);
    }
    return last;
  }

  /** Records an answer that was not a 429. */
  onAnswer(): void {
    this.#bucket(this.#now()).ok++;
  }

  /** Records a 429; returns true when it lowered the limit. */
  onRateLimited(): boolean {
    const now = this.#now();
    this.#last429 = now;
    this.#bucket(now).limited++;
    let ok = 0;
    let limited = 0;
    for (const b of this.#buckets) {
      ok += b.ok;
      limited += b.limited;
    }
    if (limited >= this.#burstCount && limited >= this.#burstShare * (ok + limited) && now - this.#lastChange >= this.#windowMs) {
      this.#current = Math.max(1, Math.floor(this.#current * 0.7));
      this.#lastChange = now;
      this.#buckets.length = 0;
      return true;
    }
    return false;
  }
}
