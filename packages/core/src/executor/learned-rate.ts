/**
 * The request rate the server will take, learnt from its 429s when nobody configured it:
 * unlimited until the first burst of 429s, then paced (one request every 1/rate seconds,
 * no burst) at a rate that drops multiplicatively on bursts of 429s and climbs back slowly
 * while requests are being held back by it, as TCP's congestion window does.
 *
 * A burst: since the last change, at least 2 429s over at least 10 answers (a first burst
 * from unlimited: 3 of which half are 429s), making at least a tenth more of the answers
 * than the background share of 429s. The first burst says the server's window is full, and
 * what it let through in the last second (answers that were not 429) is the best estimate of
 * its limit: the rate is set just below that (at least one a second). Later bursts cut it
 * by 20%. After a cut, 429s for a second are the old rate's (not counted); and if the share
 * of 429s does not fall after a cut, they do not come from the rate (a server that refuses
 * some requests at random, whatever the load): the cut is undone and that share is taken as
 * background, so random 429s are left to the retry policy instead of slowing every call.
 */
const SECOND = 1000;
/** Never slower than one request every ten seconds: a server that refuses everything still gets asked. */
const MIN_PER_SECOND = 0.1;
const FIRST_SHARE = 0.9;
const DECREASE = 0.8;
const BURST_COUNT = 2;
const BURST_SHARE = 0.1;
const MIN_SAMPLE = 10;
/**
 * A cut that left the share of 429s above this part of what it was did not help. Only a cut
 * made on 429s without a Retry-After, at a share under a half, is judged so: a Retry-After
 * is what a rate limit sends, and when the rate is the cause, cutting it by 20% lowers the
 * share less the further over the limit it was (from 44% to 30% at 1.8 times the limit).
 * It is judged over at least 30 answers, so that the share is measured, not guessed.
 */
const NO_HELP = 0.6;
const JUDGED_UNDER = 0.5;
const JUDGED_SAMPLE = 30;
/** Per second of being held back with no 429: +2%. From 80% of the limit back to it in about 11 s. */
const INCREASE = 1.02;

/** A cut of the rate: when, the share of 429s that caused it, and the rate before it. */
interface Cut {
  readonly at: number;
  readonly share: number;
  readonly before: number;
  /** Whether it may be undone (made on 429s without a Retry-After, at a share under a half). */
  readonly judged: boolean;
}

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
  #last429 = -Infinity;
  /** Whether a request was held back by this rate since the last change. */
  #binding = false;
  /** The share of 429s that comes whatever the rate (learnt from a cut that did not lower it). */
  #background = 0;
  /** The last cut, to undo it if it did not help. */
  #cut: Cut | undefined;
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

  /** The share of 429s taken as background (random, not the rate's doing). */
  get background(): number {
    return this.#background;
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
    // Climb back only while this rate holds requests back and the server has refused none for a second.
    if (this.#binding && now - this.#lastChange >= SECOND && now - this.#last429 >= SECOND) {
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

  /** The server answered 429 (`withRetryAfter`: with a Retry-After over 0). Returns true when the rate was lowered. */
  onRateLimited(withRetryAfter = false): boolean {
    const now = this.#now();
    this.#second.add(now, true);
    this.#last429 = now;
    if (now - this.#lastCut < SECOND) return false; // the old rate's 429s, still arriving
    this.#recent.add(now, true);
    const { accepted, refused } = this.#recent.totals(now);
    const total = accepted + refused;
    const share = refused / total;
    const first = this.#perSecond === Infinity && refused >= 3 && share >= 0.5;
    if (!first && (total < MIN_SAMPLE || refused < BURST_COUNT || share < this.#background + BURST_SHARE)) return false;
    const cut = this.#cut;
    const judging = cut !== undefined && cut.judged && now - cut.at <= 10 * SECOND;
    if (judging && total < JUDGED_SAMPLE) return false; // not enough answers since the cut to tell
    if (judging && share >= NO_HELP * cut.share) {
      // Slower did not mean fewer 429s: they are not the rate's doing. Undo the cut, and take this share as background.
      this.#background = Math.min(0.5, Math.max(this.#background, share));
      this.#perSecond = cut.before;
      this.#change(now, undefined);
      return false;
    }
    const before = this.#perSecond;
    const next = before === Infinity ? Math.max(1, this.#second.totals(now).accepted) * FIRST_SHARE : before * DECREASE;
    this.#perSecond = Math.max(MIN_PER_SECOND, next);
    this.#nextAt = Math.max(this.#nextAt, now);
    this.#change(now, { at: now, share, before, judged: !withRetryAfter && share < JUDGED_UNDER });
    return true;
  }

  #change(now: number, cut: Cut | undefined): void {
    this.#cut = cut;
    this.#lastChange = this.#lastCut = now;
    this.#binding = false;
    this.#recent.clear(); // what the old rate's answers taught is used up
  }
}
