/**
 * Tells a burst of 429s from a stray one, on one worker's answers: since the last cut (at
 * most ten seconds back), at least 2 429s over at least 10 answers, making at least a
 * tenth of them (core's learnt rate uses the same rule). It also gives the share of the
 * last second's answers that were not 429: the part of what went out that the server took.
 */
const WINDOW_MS = 10_000;
const SECOND = 1000;

export class BurstDetector {
  #accepted = 0;
  #refused = 0;
  #since = 0;
  /** The current and the previous second's answers: [accepted, refused]. */
  #second = [0, 0];
  #previous = [0, 0];
  #secondStart = 0;

  constructor(private readonly now: () => number) {}

  accepted(): void {
    this.#roll();
    this.#accepted++;
    this.#second[0]!++;
  }

  /** A 429 that asked to wait: true when it makes a burst (the counts start again then). */
  refused(): boolean {
    this.#roll();
    this.#refused++;
    this.#second[1]!++;
    const total = this.#accepted + this.#refused;
    if (this.#refused < 2 || total < 10 || this.#refused / total < 0.1) return false;
    this.#accepted = 0;
    this.#refused = 0;
    this.#since = this.now();
    return true;
  }

  /** The share of the last second's answers (up to two seconds' worth) that were not 429, from 0 to 1. */
  acceptedShare(): number {
    this.#roll();
    const accepted = this.#second[0]! + this.#previous[0]!;
    const total = accepted + this.#second[1]! + this.#previous[1]!;
    return total === 0 ? 1 : accepted / total;
  }

  #roll(): void {
    const now = this.now();
    if (now - this.#since > WINDOW_MS) {
      this.#accepted = 0;
      this.#refused = 0;
      this.#since = now;
    }
    if (now - this.#secondStart >= SECOND) {
      this.#previous = now - this.#secondStart >= 2 * SECOND ? [0, 0] : this.#second;
      this.#second = [0, 0];
      this.#secondStart = now;
    }
  }
}
