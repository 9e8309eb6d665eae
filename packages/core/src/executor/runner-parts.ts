import type { ModelProvider } from '../providers/types.js';
import type { Clock } from '../util/clock.js';
import type { Budget } from './budget.js';
import type { CacheStore } from './cache.js';
import type { Flight } from './call.js';
import type { ExecutorEmitter } from './emitter.js';
import type { DurableStore } from './journal.js';
import type { CostLedger } from './ledger.js';
import type { LeftJobs } from './left-jobs.js';
import type { Limiter } from './limiter.js';
import type { RequestGate } from './request-gate.js';
import type { RetryOptions } from './retry-policy.js';
import type { Settler } from './settle.js';
import type { ExecutorState } from './state.js';

/** What a flight's run uses of the executor: its parts, and the few things only the executor can do. */
export interface RunnerParts {
  readonly provider: ModelProvider;
  readonly retry: Required<RetryOptions>;
  readonly random: () => number;
  readonly clock: Clock;
  readonly cache: CacheStore | undefined;
  readonly store: DurableStore | undefined;
  readonly left: LeftJobs;
  readonly gate: RequestGate | undefined;
  readonly limiter: Limiter | undefined;
  readonly ledger: CostLedger;
  readonly budget: Budget | undefined;
  readonly state: ExecutorState;
  readonly emitter: ExecutorEmitter;
  readonly settler: Settler;
  /** Stops flights no caller can leave, at a shutdown's deadline. */
  readonly stop: AbortSignal;
  /** Cuts off creates still in flight once a shutdown's grace has passed. */
  readonly kill: AbortSignal;
  /** A 429, on a create or a poll. */
  onRateLimited(retryAfterMs: number | undefined): void;
  /** An answer other than 429. */
  onAccepted(): void;
  /** Hands a flight's budget reservation back. */
  unreserve(flight: Flight): void;
  /** Makes the dispatcher look at the queue again. */
  wake(): void;
}
