import { picoToUsd } from '@shoal/core/internal';
import type { CostRow } from './types.js';

interface Tally {
  calls: number;
  failed: number;
  pico: bigint;
}

/** Calls and their cost under a name (an agent, a tag), summed in integer pico-dollars. */
export class CostTable {
  readonly #rows = new Map<string, Tally>();

  #row(name: string): Tally {
    let row = this.#rows.get(name);
    if (!row) this.#rows.set(name, (row = { calls: 0, failed: 0, pico: 0n }));
    return row;
  }

  /** A call settled under `name`. */
  settle(name: string, pico: bigint, failed: boolean): void {
    const row = this.#row(name);
    row.calls++;
    if (failed) row.failed++;
    row.pico += pico;
  }

  /** Money booked under `name` after its call settled (a job charged after its call gave up). */
  charge(name: string, pico: bigint): void {
    this.#row(name).pico += pico;
  }

  /** The rows by cost, most first; equal costs by calls, then by name. */
  rows(): CostRow[] {
    return [...this.#rows]
      .sort(([nameA, a], [nameB, b]) => (a.pico === b.pico ? b.calls - a.calls || (nameA < nameB ? -1 : 1) : a.pico > b.pico ? -1 : 1))
      .map(([name, row]) => ({ name, calls: row.calls, failed: row.failed, costUsd: picoToUsd(row.pico) }));
  }
}
