import { AbortError, type ShoalError } from '../errors.js';
import type { ProviderResult, Usage } from '../providers/types.js';
import type { Clock } from '../util/clock.js';
import type { CachedCompletion } from './cache.js';
import { type Call, type Flight, QUEUED, SETTLED } from './call.js';
import type { ExecutorEmitter } from './emitter.js';
import type { CostLedger } from './ledger.js';
import type { ExecutorState } from './state.js';
import type { CompletionResult } from './types.js';

/** What a flight's job came to, for its callers. */
export interface FlightOutcome {
  readonly result: ProviderResult;
  readonly usage: Usage;
  /** The owner's cost: its job and any failed job it paid for. Identical calls that joined pay nothing. */
  readonly costUsd: number;
  readonly attempts: number;
  readonly requests: number;
  /** The job could not be priced (no known price, no charge reported). */
  readonly unpriced: boolean;
}

/**
 * Tells callers how their calls ended, once each: the counters, the ledger's per-tag
 * tallies and the events follow. A call leaving its flight stops the flight once no caller
 * is left (`leave`).
 */
export class Settler {
  constructor(
    private readonly state: ExecutorState,
    private readonly emitter: ExecutorEmitter,
    private readonly ledger: CostLedger,
    private readonly clock: Clock,
    /** A flight every caller left while it ran: returns what tells the left jobs it is over. */
    private readonly leave: (flight: Flight) => (() => void) | undefined,
  ) {}

  /** Every caller of a flight that got an answer: the owner pays, the others joined. */
  flight(flight: Flight, owner: Call, outcome: FlightOutcome): void {
    const { result, usage } = outcome;
    for (const call of flight.calls) {
      const shared = call !== owner;
      if (shared) {
        this.state.deduplicated++;
        this.ledger.record('cached', undefined, 0n, call.options?.tags);
      }
      this.ok(call, {
        text: result.text,
        jobId: result.jobId,
        usage,
        costUsd: shared ? 0 : outcome.costUsd,
        attempts: shared ? 0 : outcome.attempts,
        cached: false,
        deduplicated: shared,
        durationMs: this.clock.now() - call.enqueuedAt,
        requests: shared ? 0 : outcome.requests,
        model: result.model,
        ...(outcome.unpriced && !shared ? { unpriced: true as const } : {}),
      });
    }
  }

  /** Every caller of a flight that failed. */
  flightError(flight: Flight, error: ShoalError, attempts = 0): void {
    for (const call of flight.calls) this.error(call, error, attempts);
  }

  cached(call: Call, hit: CachedCompletion): void {
    if (call.state === SETTLED) return;
    this.state.cached++;
    this.ledger.record('cached', undefined, 0n, call.options?.tags);
    const durationMs = this.clock.now() - call.enqueuedAt;
    this.emitter.call('call-cached', call, { durationMs });
    this.ok(call, {
      text: hit.text,
      jobId: hit.jobId,
      usage: hit.usage,
      costUsd: 0,
      attempts: 0,
      cached: true,
      deduplicated: false,
      durationMs,
      requests: 0,
      model: hit.model,
    });
  }

  error(call: Call, error: ShoalError, attempts = 0): void {
    if (!this.#release(call)) return;
    this.state.failed++;
    this.ledger.record('failed', undefined, 0n, call.options?.tags);
    this.emitter.call('call-error', call, { error, attempts, durationMs: this.clock.now() - call.enqueuedAt });
    call.reject(error);
    this.state.checkIdle();
  }

  ok(call: Call, result: CompletionResult): void {
    if (!this.#release(call)) return;
    this.state.done++;
    this.state.latency.add(result.durationMs);
    this.emitter.call('call-end', call, {
      jobId: result.jobId,
      attempts: result.attempts,
      durationMs: result.durationMs,
      usage: result.usage,
      costUsd: result.costUsd,
      deduplicated: result.deduplicated,
      requests: result.requests,
    });
    call.resolve(result);
  }

  /** Takes the call out of the queue count, its timer and its flight. False when it was settled already. */
  #release(call: Call): boolean {
    if (call.state === SETTLED) return false;
    if (call.state === QUEUED) this.state.queued--;
    call.state = SETTLED;
    if (call.timer) this.clock.clearTimeout(call.timer);
    this.state.active.delete(call);
    const flight = call.flight;
    if (flight) {
      flight.calls.delete(call);
      if (flight.calls.size === 0 && !flight.done && flight.controller && !flight.controller.signal.aborted) {
        // Nobody waits any more: stop the waiting (a create already sent still gets its answer,
        // so its job is booked and remembered). A new identical call starts a flight of its own
        // that waits for this one to unwind, then re-attaches to its job.
        if (flight.key !== undefined && this.state.flights.get(flight.key) === flight) this.state.flights.delete(flight.key);
        flight.end = this.leave(flight);
        flight.controller.abort(new AbortError('every caller stopped waiting'));
      }
    }
    return true;
  }
}
