import { SampleWindow } from '../util/percentiles.js';
import type { Call, Flight } from './call.js';

/** What the executor's parts share: its counters and the calls and flights in progress. */
export class ExecutorState {
  queued = 0;
  running = 0;
  done = 0;
  failed = 0;
  cached = 0;
  deduplicated = 0;
  retries = 0;
  jobs = 0;
  requests = 0;
  rateLimited = 0;
  resumed = 0;
  recreated = 0;
  storeErrors = 0;
  /** Calls refused because the executor was closed or shutting down (work a caller still wanted). */
  refusedAfterClose = 0;
  closed = false;
  budgetExceeded = false;
  /** Calls holding a slot or joined to a flight. */
  readonly active = new Set<Call>();
  /** Flights by request key, for identical calls to join (dedup). */
  readonly flights = new Map<string, Flight>();
  /** Call latencies, from complete() to result. */
  readonly latency = new SampleWindow(10_000);
  readonly #idleWaiters: (() => void)[] = [];

  /** Resolves once nothing is queued or running. */
  untilIdle(): Promise<void> {
    if (this.queued + this.running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  checkIdle(): void {
    if (this.queued === 0 && this.running === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
