/**
 * Time series kept in buckets while the record streams by, in constant memory: the run's
 * length is not known until its last line, so buckets start 1 ms wide and, whenever a time
 * falls past the last of `CAPACITY` buckets, pairs merge and the width doubles. Widths stay
 * powers of two, so `resample()` to any wider power of two is exact.
 */
const CAPACITY = 2048;

class Buckets {
  widthMs = 1;
  values: number[] = [];

  constructor(private readonly merge: (a: number, b: number) => number) {}

  /** The bucket of time `t`, widening the buckets until it fits; the array reaches it. */
  index(t: number): number {
    while (t >= CAPACITY * this.widthMs) this.#widen();
    const i = Math.floor(t / this.widthMs);
    while (this.values.length <= i) this.values.push(0);
    return i;
  }

  #widen(): void {
    const merged: number[] = [];
    for (let i = 0; i < this.values.length; i += 2) merged.push(this.merge(this.values[i] ?? 0, this.values[i + 1] ?? 0));
    this.values = merged;
    this.widthMs *= 2;
  }

  /** `count` buckets of `widthMs` (a power-of-two multiple of this width). */
  resample(widthMs: number, count: number): number[] {
    const out = new Array<number>(count).fill(0);
    const ratio = widthMs / this.widthMs;
    this.values.forEach((value, i) => {
      const j = Math.min(count - 1, Math.floor(i / ratio));
      out[j] = this.merge(out[j]!, value);
    });
    return out;
  }
}

/** Events per bucket (retries, failures). */
export class CountSeries {
  readonly #buckets = new Buckets((a, b) => a + b);

  add(t: number, n = 1): void {
    const i = this.#buckets.index(t);
    this.#buckets.values[i]! += n;
  }

  get widthMs(): number {
    return this.#buckets.widthMs;
  }

  resample(widthMs: number, count: number): number[] {
    return this.#buckets.resample(widthMs, count);
  }
}

/**
 * A level that holds between changes (calls queued, calls running): each bucket keeps the
 * highest level reached in it. Changes come in the record's order, which is the order they
 * happened in, so a call that ends and one that starts at the same 0.1 ms make no false peak.
 */
export class LevelSeries {
  readonly #buckets = new Buckets(Math.max);
  #level = 0;
  #lastT = 0;

  get level(): number {
    return this.#level;
  }

  get widthMs(): number {
    return this.#buckets.widthMs;
  }

  change(t: number, delta: number): void {
    this.set(t, this.#level + delta);
  }

  set(t: number, level: number): void {
    // A time a little before the last one (rounding) is taken as the last one: levels never go back in time.
    const at = Math.max(t, this.#lastT);
    const i = this.#buckets.index(at);
    const values = this.#buckets.values;
    // The old level held from the last change until now: every bucket in between reached it.
    for (let k = Math.floor(this.#lastT / this.#buckets.widthMs); k <= i; k++) values[k] = Math.max(values[k]!, this.#level);
    values[i] = Math.max(values[i]!, level);
    this.#level = level;
    this.#lastT = at;
  }

  /** Carries the current level to `t` (the end of the run), then resamples. */
  resample(t: number, widthMs: number, count: number): number[] {
    this.set(t, this.#level);
    return this.#buckets.resample(widthMs, count);
  }
}

/** The common bucket width for a run of `durationMs`: a power of two, at least every series' own, and at most `target` buckets. */
export function bucketWidth(durationMs: number, target: number, widths: readonly number[]): { readonly widthMs: number; readonly count: number } {
  let widthMs = Math.max(1, ...widths);
  while (durationMs / widthMs >= target) widthMs *= 2;
  return { widthMs, count: Math.floor(durationMs / widthMs) + 1 };
}
