/**
 * The request rate the server will take, learnt from its 429s when nobody configured it:
 * unlimited until the first burst of 429s, then paced (one request every 1/rate seconds,
 * no burst) at a rate that drops multiplicatively on bursts of 429s and climbs back slowly
 * while requests are being held back by it, as TCP's congestion window does.
 *
 * It learns only from 429s that ask to wait (a Retry-After over 0, the RateLimiter's rule):
 * that is how a rate limit answers. A server that refuses requests at random, whatever the
 * load, is not slowing anyone down by asking, and pacing every call for it would only cost
 * throughput: such 429s are left to the retry policy and the adaptive concurrency.
 *
 * A burst: since the last change, at least 2 429s over at least 10 answers (a first burst
 * from unlimited: 3, half of the answers), making at least a tenth of them. The first burst
 * says the server's window is full, and what it let through in the last second (answers
 * that were not 429) is the best estimate of its limit: the rate is set just below that (at
 * least one a second). Later bursts cut it by 20%. After a cut, 429s for a second are the
 * old rate's (not counted). The rate climbs back while the last second saw no more than a
 * twentieth of 429s.
 */
const SECOND = 1000;
/** Never slower than one request every ten seconds: a server that refuses everything still gets asked. */
const MIN_PER_SECOND = 0.1;
const FIRST_SHARE = 0.9;
const DECREASE = 0.8;
const BURST_COUNT = 2;
const BURST_SHARE = 0.1;
const MIN_SAMPLE = 10;
/** Per second of being held back with few 429s: +2%. From 80% of the limit back to it in about 11 s. */
const INCREASE = 1.02;

/** Counts over a sliding window, in ten slots. */
class WindowCounts {
  readonly #slotMs: number;
  readonly #accepted = new Array<number>(10).fill(0);
  readonly #refused = new Array<number>(10).fill(0);
  #slot = 0;

  constructor(windowMs: number) {
    this.#slotMs = windowMs / 10;
  }

  add(now: number, refused: boolean): void {
    const slot = this.#roll(now);
    if (refused) this.#refused[slot]!++;
    else this.#accepted[slot]!++;
  }

  totals(now: number): { accepted: number; refused: number } {
    this.#roll(now);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      accepted += this.#accepted[i]!;
      refused += this.#refused[i]!;
    }
    return { accepted, refused };
  }

  clear(): void {
    this.#accepted.fill(0);
    this.#refused.fill(0);
  }

  /** Clears the slots that have gone by; returns the current slot's index. */
  #roll(now: number): number {
    const current = Math.floor(now / this.#slotMs);
    const steps = Math.min(10, current - this.#slot);
    for (let s = 1; s <= steps; s++) {
      const i = (this.#slot + s) % 10;
      this.#accepted[i] = 0;
      this.#refused[i] = 0;
    }
    if (steps > 0) this.#slot = current;
    return current % 10;
  }
}

export class LearnedRate {
  /** Requests per second; Infinity until the first burst of 429s. */
  #perSecond = Infinity;
  /** When the next request may go (pacing, no burst). */
  #nextAt = 0;
  #lastChange = -Infinity;
  #lastCut = -Infinity;
  /** Whether a request was held back by this rate since the last change. */
  #binding = false;
  readonly #now: () => number;
  /** The last second's answers: what the server let through, for the first estimate. */
  readonly #second = new WindowCounts(SECOND);
  /** The answers since the last change (at most ten seconds): is there a burst of 429s? */
  readonly #recent = new WindowCounts(10 * SECOND);

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Requests per second the server is believed to take (Infinity: no burst of 429s seen yet). */
  get perSecond(): number {
    return this.#perSecond;
  }

  waitMs(now: number): number {
    if (this.#perSecond === Infinity) return 0;
    const wait = this.#nextAt - now;
    if (wait > 0) {
      this.#binding = true;
      return Math.ceil(wait);
    }
    return 0;
  }

  /** A request leaves now. */
  take(now: number): void {
    if (this.#perSecond === Infinity) return;
    // Climb back while this rate holds requests back and the last second saw few 429s.
    if (this.#binding && now - this.#lastChange >= SECOND && this.#quietSecond(now)) {
      this.#perSecond *= INCREASE;
      this.#lastChange = now;
      this.#binding = false;
    }
    this.#nextAt = Math.max(this.#nextAt, now) + SECOND / this.#perSecond;
  }

  /** A slot taken for a request that was not sent after all. */
  refund(_now: number): void {
    if (this.#perSecond !== Infinity) this.#nextAt -= SECOND / this.#perSecond;
  }

  /** The server answered a request with anything but 429. */
  onAccepted(): void {
    const now = this.#now();
    this.#second.add(now, false);
    this.#recent.add(now, false);
  }

  /** The server answered 429 with a Retry-After. Returns true when the rate was lowered. */
  onRateLimited(): boolean {
    const now = this.#now();
    this.#second.add(now, true);
    if (now - this.#lastCut < SECOND) return false; // the old rate's 429s, still arriving
    this.#recent.add(now, true);
    const { accepted, refused } = this.#recent.totals(now);
    const total = accepted + refused;
    const share = refused / total;
    const first = this.#perSecond === Infinity && refused >= 3 && share >= 0.5;
    if (!first && (total < MIN_SAMPLE || refused < BURST_COUNT || share < BURST_SHARE)) return false;
    const next = this.#perSecond === Infinity ? Math.max(1, this.#second.totals(now).accepted) * FIRST_SHARE : this.#perSecond * DECREASE;
    this.#perSecond = Math.max(MIN_PER_SECOND, next);
    this.#nextAt = Math.max(this.#nextAt, now);
    this.#lastChange = this.#lastCut = now;
    this.#binding = false;
    this.#recent.clear(); // what the old rate's answers taught is used up
    return true;
  }

  /** Whether the last second's share of 429s is at most half a burst's. */
  #quietSecond(now: number): boolean {
    const { accepted, refused } = this.#second.totals(now);
    return refused === 0 || refused / (accepted + refused) <= BURST_SHARE / 2;
  }
}
