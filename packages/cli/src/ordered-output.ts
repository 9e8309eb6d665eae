import { closeSync, openSync, writeSync } from 'node:fs';
import type { ItemOutcome } from './outcome.js';

/**
 * The output file, one JSON line per input item in input order, written as soon as every
 * item before it is done (so a long run's output grows as it goes, and an interrupted run
 * leaves a readable prefix). `-` is standard output.
 */
export class OrderedOutput {
  readonly #fd: number;
  readonly #ids: readonly string[];
  readonly #pending = new Map<number, string>();
  #next = 0;
  #buffer = '';

  /** `path` undefined: nothing is written (a dry run). */
  constructor(path: string | undefined, ids: readonly string[]) {
    this.#fd = path === undefined ? -1 : path === '-' ? 1 : openSync(path, 'w');
    this.#ids = ids;
  }

  /** Item `index` is done. */
  set(index: number, outcome: ItemOutcome): void {
    if (index < this.#next || this.#pending.has(index)) return;
    this.#pending.set(index, JSON.stringify({ id: this.#ids[index], ...outcome }));
    while (this.#pending.has(this.#next)) {
      this.#buffer += `${this.#pending.get(this.#next)}\n`;
      this.#pending.delete(this.#next);
      this.#next++;
    }
    if (this.#buffer.length > 64 * 1024) this.flush();
  }

  /** Items written (in order) so far. */
  get written(): number {
    return this.#next;
  }

  flush(): void {
    if (this.#buffer === '') return;
    if (this.#fd === -1) {
      this.#buffer = '';
      return;
    }
    writeSync(this.#fd, this.#buffer);
    this.#buffer = '';
  }

  close(): void {
    this.flush();
    if (this.#fd > 1) closeSync(this.#fd);
  }
}
