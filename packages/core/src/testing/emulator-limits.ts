/**
 * The emulator's misbehaviour, kept apart from its protocol: seeded fault plans (an exact
 * share of requests, at random places) and a sliding-window request limit like a real
 * API gateway's.
 */

/**
 * Faults hit an exact share of requests at random places: each block of 100 requests gets
 * round(100 x share) faults (the remainder carried to the next block) at seeded random
 * positions. Exact rates, so a test can count on the rate it asked for, and no fixed period
 * for a client's own rhythm to fall into step with.
 */
export class FaultPlan {
  readonly counts: Record<string, number> = {};
  readonly #plans: Record<string, { positions: Set<number>; index: number; carry: number }> = {};
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  /** Whether the next request of this kind gets the fault `name` (share 0 or less: never). */
  hit(name: string, share: number | undefined): boolean {
    if (typeof share !== 'number' || share <= 0) return false;
    let plan = this.#plans[name];
    if (!plan || plan.index >= 100) {
      const want = 100 * Math.min(1, share) + (plan?.carry ?? 0);
      const count = Math.min(100, Math.floor(want));
      const positions = new Set<number>();
      while (positions.size < count) positions.add(Math.floor(this.#random() * 100));
      plan = { positions, index: 0, carry: want - count };
      this.#plans[name] = plan;
    }
    const hit = plan.positions.has(plan.index++);
    if (hit) this.counts[name] = (this.counts[name] ?? 0) + 1;
    return hit;
  }
}

/**
 * At most `limit` requests per key in any window of `windowMs` (creates and queries
 * together), as a gateway counts them. A refused request does not count. `admit` answers
 * undefined when the request may pass, else the milliseconds until the window has room.
 */
export class SlidingWindowLimit {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Accepted request times per key, oldest first. */
  readonly #times = new Map<string, number[]>();

  constructor(limit: number, windowMs: number, now: () => number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  admit(key: string): number | undefined {
    const now = this.#now();
    let times = this.#times.get(key);
    if (!times) this.#times.set(key, (times = []));
    let drop = 0;
    while (drop < times.length && times[drop]! <= now - this.#windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length < this.#limit) {
      times.push(now);
      return undefined;
    }
    return times[0]! + this.#windowMs - now;
  }
}
