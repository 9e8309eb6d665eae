import type { ShoalError } from '../errors.js';

/**
 * What calls leave behind when all their callers stop waiting (a timeout, an abort, a
 * shutdown) while their work runs on:
 *
 * - a job created and still running: it is paid for, so the same request made again in
 *   this process re-attaches to it by id instead of creating a second one, and the ledger,
 *   which booked it when it was created, does not book it again;
 * - a create whose answer was lost after its callers left: nobody saw that error, so the
 *   same request made again gets it (a job may exist) rather than paying for another;
 * - the flight itself, still unwinding (its create may not have answered yet): a new flight
 *   for the same request waits for it first, so that it sees what it left.
 *
 * Keyed by the request key (`requestKey(model, request)`). Bounded, oldest first out: past
 * the bound a left job is forgotten (without a store, the same request then creates a new
 * job; with one, it is re-attached to from the journal but booked again).
 */
export type LeftJob =
  | { readonly kind: 'job'; readonly jobId: string /** What the ledger has booked for the job so far, in pico-USD. */; readonly bookedPico: bigint }
  | { readonly kind: 'ambiguous'; readonly error: ShoalError };

export class LeftJobs {
  readonly #jobs = new Map<string, LeftJob>();
  /** Per key, a promise that settles once every flight left unwinding for it has ended. */
  readonly #unwinding = new Map<string, Promise<void>>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  /** Nothing left and nothing unwinding: callers skip computing a request key. */
  get empty(): boolean {
    return this.#jobs.size === 0 && this.#unwinding.size === 0;
  }

  remember(key: string, left: LeftJob): void {
    this.#jobs.delete(key);
    this.#jobs.set(key, left);
    if (this.#jobs.size > this.#max) this.#jobs.delete(this.#jobs.keys().next().value!);
  }

  /** What was left for this request, if anything; handed over once. */
  take(key: string): LeftJob | undefined {
    const left = this.#jobs.get(key);
    if (left !== undefined) this.#jobs.delete(key);
    return left;
  }

  /**
   * A flight left by its callers while it runs. Later flights for `key` wait for it (and for
   * any flight left before it) until the returned function is called, when it is over.
   */
  unwinding(key: string): () => void {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const before = this.#unwinding.get(key);
    const entry = before ? Promise.all([before, ended]).then(() => undefined) : ended;
    this.#unwinding.set(key, entry);
    // Gone once settled, unless a later flight's entry (which waits for this one) took its place.
    void entry.then(() => {
      if (this.#unwinding.get(key) === entry) this.#unwinding.delete(key);
    });
    return end;
  }

  /**
   * Waits for the flights left unwinding for `key`, until there are none or the waiting
   * flight is itself left (`left()` true): its own entry then waits for the ones before it,
   * and waiting on any later entry would be waiting for itself.
   */
  async settle(key: string, left: () => boolean): Promise<void> {
    for (let previous = this.#unwinding.get(key); previous !== undefined && !left(); previous = this.#unwinding.get(key)) await previous;
  }
}
