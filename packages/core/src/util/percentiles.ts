/** A fixed-size ring of the most recent samples, with exact percentiles over them. */
export class SampleWindow {
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;

  constructor(size = 10_000) {
    this.#values = new Float64Array(size);
  }

  add(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** Percentiles (0-100) by nearest rank; NaN when empty. */
  percentiles(...ps: number[]): number[] {
    if (this.#count === 0) return ps.map(() => Number.NaN);
    const sorted = this.#values.slice(0, this.#count).sort();
    return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  }

  mean(): number {
    if (this.#count === 0) return Number.NaN;
    let sum = 0;
    for (let i = 0; i < this.#count; i++) sum += this.#values[i]!;
    return sum / this.#count;
  }
}
