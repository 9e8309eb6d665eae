import { AbortError, ExecutorClosedError, ShoalConfigError } from '../errors.js';
import type { ModelProvider } from '../providers/types.js';
import type { Clock } from '../util/clock.js';
import { MAX_TIMER_MS } from '../util/clock.js';
import { describeValue } from '../util/describe.js';
import { expectNumber, rejectUnknownKeys } from '../util/options.js';
import { lateBy } from '../util/sleep.js';
import type { CacheStore } from './cache.js';
import { type Call, QUEUED } from './call.js';
import type { DurableStore } from './journal.js';
import { checkCloseOptions } from './options.js';
import type { CallQueue } from './queue.js';
import type { Settler } from './settle.js';
import type { ExecutorState } from './state.js';
import type { ShutdownOptions, ShutdownReport } from './types.js';

/** After a shutdown's deadline, how long a create already sent may take to answer before it is cut off. */
const CREATE_GRACE_MS = 1000;

export interface LifecycleParts {
  readonly state: ExecutorState;
  readonly queue: CallQueue<Call>;
  readonly settler: Settler;
  readonly clock: Clock;
  readonly provider: ModelProvider;
  readonly store: DurableStore | undefined;
  readonly cache: CacheStore | undefined;
  /** Flights no caller can leave stop on it at a shutdown's deadline. */
  readonly stop: AbortController;
  /** Cuts off creates still in flight once the grace after the deadline has passed. */
  readonly kill: AbortController;
  /** Releases what the dispatcher holds (its timer, the requests waiting at the gate). */
  readonly closeDispatch: () => void;
}

/**
 * The executor's end: `close()` (drain, or reject the queue) and `shutdown()` (a deadline,
 * then abandon). A second call joins the first; a shutdown takes over from a draining
 * close still in progress. The provider and the store are closed once, last.
 */
export class Lifecycle {
  readonly #parts: LifecycleParts;
  #ending: Promise<ShutdownReport> | undefined;
  #shuttingDown: Promise<ShutdownReport> | undefined;
  #resourcesClosed: Promise<void> | undefined;

  constructor(parts: LifecycleParts) {
    this.#parts = parts;
  }

  async close(options?: { readonly drain?: boolean }): Promise<void> {
    const invalid = checkCloseOptions(options);
    if (invalid) throw invalid;
    if (this.#shuttingDown) {
      await this.#shuttingDown;
      return;
    }
    if (this.#ending) {
      await this.#ending;
      return;
    }
    const { state } = this.#parts;
    state.closed = true;
    const rejectedQueued = options?.drain === false ? this.#rejectQueued('The executor was closed before this call was dispatched.') : 0;
    const waited = state.active.size + state.queued;
    this.#ending = state.untilIdle().then(async () => {
      await this.#closeResources();
      return { rejectedQueued, finished: waited, abandoned: 0, clean: rejectedQueued === 0 };
    });
    await this.#ending;
  }

  shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    if (typeof options !== 'object' || options === null)
      return Promise.reject(new ShoalConfigError(`shutdown() takes { deadlineMs? }, got ${describeValue(options)}.`));
    let deadlineMs: number;
    try {
      rejectUnknownKeys('shutdown()', options, ['deadlineMs']);
      // A deadline beyond what a timer can hold (about 24.8 days) is as good as none: wait that long.
      deadlineMs = Math.min(MAX_TIMER_MS, expectNumber('deadlineMs', options.deadlineMs ?? 10_000, { min: 0, allowInfinity: true }));
    } catch (error) {
      return Promise.reject(error);
    }
    // A second shutdown joins the first. A draining close() in progress does not stop one: a
    // signal still rejects the queue and sets the deadline.
    this.#shuttingDown ??= this.#shutdown(deadlineMs);
    this.#ending ??= this.#shuttingDown;
    return this.#shuttingDown;
  }

  async #shutdown(deadlineMs: number): Promise<ShutdownReport> {
    const { state, store, clock, settler, stop, kill } = this.#parts;
    state.closed = true;
    const rejectedQueued = this.#rejectQueued(
      `The executor shut down before this call was dispatched: nothing was sent for it.${store ? ' Run again with the same store to do it.' : ''}`,
    );
    const running = state.active.size;
    let abandoned = 0;
    if (state.running > 0) {
      const idle = state.untilIdle();
      if (await lateBy(idle, deadlineMs, clock)) {
        const left = store
          ? 'Its job, if created, keeps running on the server and stays in the journal: a rerun with the same store re-attaches to it.'
          : 'A job already created keeps running on the server.';
        for (const call of [...state.active]) {
          abandoned++;
          settler.error(
            call,
            new ExecutorClosedError(`The executor shut down and its deadline of ${deadlineMs} ms passed with this call still running. ${left}`),
          );
        }
        // Flights nobody could leave stop on the executor's stop signal. A create already sent
        // gets a short grace to answer (its job is then booked and journaled), and is cut off
        // after it: with a store its intent stays journaled, and a rerun sends it again under
        // the same idempotency key (counted as re-created). Nothing is sent once this resolves.
        stop.abort(new AbortError('the executor shut down'));
        if (await lateBy(idle, CREATE_GRACE_MS, clock)) {
          kill.abort(new AbortError('the executor shut down, and the grace for creates in flight passed'));
          await idle;
        }
      }
    }
    await this.#closeResources();
    return { rejectedQueued, finished: running - abandoned, abandoned, clean: rejectedQueued === 0 && abandoned === 0 };
  }

  /** Rejects every queued call with `ExecutorClosedError(message)`; returns how many. */
  #rejectQueued(message: string): number {
    let rejected = 0;
    for (const call of this.#parts.queue.drain()) {
      if (call.state !== QUEUED) continue;
      rejected++;
      this.#parts.settler.error(call, new ExecutorClosedError(message));
    }
    return rejected;
  }

  #closeResources(): Promise<void> {
    this.#resourcesClosed ??= (async () => {
      const { provider, store, cache } = this.#parts;
      this.#parts.closeDispatch();
      await provider.close?.();
      if (store) await store.close();
      else await cache?.close?.();
    })();
    return this.#resourcesClosed;
  }
}
