import { closeSync, openSync, writeSync } from 'node:fs';
import { ShoalConfigError } from '@shoal/core';
import type { ItemOutcome } from './outcome.js';

const FLUSH_MS = 500;
const FLUSH_BYTES = 64 * 1024;

/**
 * The output file, one JSON line per input item in input order, written as soon as every
 * item before it is done: every half second, at 64 KB, and when the process exits (a second
 * Ctrl-C included), so a long run's output grows as it goes and a stopped run leaves every
 * in-order line it had. `-` is standard output. The file is opened at once: a path that
 * cannot be written is refused before anything runs.
 */
export class OrderedOutput {
  readonly #fd: number;
  readonly #path: string | undefined;
  readonly #ids: readonly string[];
  readonly #pending = new Map<number, string>();
  readonly #timer: NodeJS.Timeout;
  readonly #onExit = () => this.flush();
  #next = 0;
  #buffer = '';
  /** The first write that failed: nothing more is written after it. */
  failure: Error | undefined;

  /** `path` undefined: nothing is written (a dry run). */
  constructor(path: string | undefined, ids: readonly string[]) {
    this.#path = path;
    this.#ids = ids;
    try {
      this.#fd = path === undefined ? -1 : path === '-' ? 1 : openSync(path, 'w');
    } catch (error) {
      throw new ShoalConfigError(
        `Cannot write the output file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give a path in a folder that exists and can be written, or - for standard output.`,
      );
    }
    this.#timer = setInterval(() => this.flush(), FLUSH_MS).unref();
    process.on('exit', this.#onExit);
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
    if (this.#buffer.length > FLUSH_BYTES) this.flush();
  }

  /** Writes the lines that are in order now. A failed write is kept in `failure` (said once, at the end), never thrown here. */
  flush(): void {
    if (this.#buffer === '' || this.#fd === -1 || this.failure) {
      this.#buffer = '';
      return;
    }
    const chunk = this.#buffer;
    this.#buffer = '';
    try {
      writeSync(this.#fd, chunk);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      this.failure = new Error(`writing ${this.#path === '-' ? 'standard output' : this.#path} failed (${code}): the lines after it are not written`);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    process.off('exit', this.#onExit);
    this.flush();
    if (this.#fd > 2) closeSync(this.#fd);
  }
}
