import { countTokensSync } from '../tokens.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import { picoToUsd } from '../util/money.js';
import type { AdaptiveConcurrency } from './adaptive-concurrency.js';
import type { Budget } from './budget.js';
import { inFlightKey, requestKey } from './cache.js';
import { type Call, type Flight, QUEUED, RUNNING } from './call.js';
import type { ExecutorEmitter } from './emitter.js';
import type { FlightRunner } from './flight-runner.js';
import { JOURNAL_KEY, type JournaledCallOptions } from './journal.js';
import type { CostLedger } from './ledger.js';
import type { Limiter } from './limiter.js';
import type { CallQueue } from './queue.js';
import type { RequestGate } from './request-gate.js';
import type { Settler } from './settle.js';
import type { ExecutorState } from './state.js';

export interface DispatcherParts {
  readonly state: ExecutorState;
  readonly queue: CallQueue<Call>;
  readonly concurrency: AdaptiveConcurrency;
  readonly limiter: Limiter | undefined;
  readonly gate: RequestGate | undefined;
  readonly budget: Budget | undefined;
  readonly ledger: CostLedger;
  readonly emitter: ExecutorEmitter;
  readonly settler: Settler;
  readonly clock: Clock;
  readonly model: string;
  readonly cacheOn: boolean;
  /** The executor has a store: flights are journaled (under their request key when cached, or their own `JOURNAL_KEY`). */
  readonly journaling: boolean;
  readonly dedupe: boolean;
  readonly reservedOutputTokens: number;
}

/**
 * Starts queued calls while there are slots: the head of the queue waits for the tokenizer
 * (when tokens are counted), the budget's room and the limiter; then it joins an identical
 * flight in progress or starts one of its own, run by the FlightRunner.
 */
export class Dispatcher {
  readonly #parts: DispatcherParts;
  #runner!: FlightRunner;
  #timer: ClockTimer | undefined;
  #lastEffective: number;
  /** False until the tokenizer has loaded, when prompts must be counted before dispatch. */
  tokenizerReady = true;

  constructor(parts: DispatcherParts) {
    this.#parts = parts;
    this.#lastEffective = parts.concurrency.current;
  }

  set runner(runner: FlightRunner) {
    this.#runner = runner;
  }

  /** The effective concurrency dropped on a burst of 429s: already announced. */
  set lastEffective(value: number) {
    this.#lastEffective = value;
  }

  close(): void {
    this.#parts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  pump(): void {
    const { state, queue, concurrency, limiter, gate, budget } = this.#parts;
    const effective = concurrency.current;
    if (effective !== this.#lastEffective) {
      if (effective > this.#lastEffective) {
        this.#parts.emitter.emit('concurrency-change', { at: this.#parts.clock.now(), from: this.#lastEffective, to: effective, reason: 'recovered' });
      }
      this.#lastEffective = effective;
    }
    while (queue.size > 0 && state.running < concurrency.current) {
      const head = queue.peek()!;
      if (head.state !== QUEUED) {
        queue.take(); // cancelled while waiting (lazy removal)
        continue;
      }
      if (!this.tokenizerReady) return; // resumes when the tokenizer has loaded
      const reserved = this.#parts.reservedOutputTokens;
      if (head.tokens === 0 && (limiter?.countsTokens || budget)) head.tokens = (countTokensSync(head.request.prompt) ?? 0) + reserved;
      let estimatePico = 0n;
      if (budget) {
        if (budget.spent) {
          this.#exceedBudget();
          return;
        }
        estimatePico = budget.estimate(head.tokens - reserved, reserved);
        // While the calls in flight could take the spend past the budget, wait for them rather than dispatch more.
        if (!budget.fits(estimatePico, state.running)) return;
      }
      if (limiter) {
        // Requests of running calls waiting for the limiter take turns with new calls; the gate wakes this when it is their turn.
        if (!gate!.mayDispatch) return;
        const waitMs = limiter.waitMs(head.tokens);
        if (waitMs > 0) {
          this.#timer ??= this.#parts.clock.setTimeout(() => {
            this.#timer = undefined;
            this.pump();
          }, waitMs);
          return;
        }
      }
      queue.take();
      state.queued--;
      head.state = RUNNING;
      limiter?.take(head.tokens); // now, not after an await: the next head in this loop must see it
      gate?.dispatched();
      this.#dispatch(head, estimatePico);
    }
  }

  /** Hands a flight's budget reservation back (its job's charge is booked, or it made none). */
  unreserve(flight: Flight): void {
    if (flight.reservedPico > 0n) {
      this.#parts.budget!.release(flight.reservedPico);
      flight.reservedPico = 0n;
    }
  }

  #dispatch(call: Call, estimatePico: bigint): void {
    const { state, emitter, clock, dedupe } = this.#parts;
    state.active.add(call);
    const now = clock.now();
    if (emitter.has('call-start')) emitter.call('call-start', call, { at: now, priority: call.priority, queuedMs: now - call.enqueuedAt });
    const cacheMode = call.options?.cache;
    const useCache = this.#parts.cacheOn && cacheMode !== false;
    // A hashed key when the cache needs one (stores persist keys); the plain text is enough to spot identical calls in flight.
    const key = useCache ? requestKey(this.#parts.model, call.request) : dedupe ? inFlightKey(call.request) : undefined;
    if (key !== undefined && dedupe) {
      const flight = state.flights.get(key);
      // A refresh wants a new answer: it does not join a flight that may bring back the old one from the cache.
      if (flight && !flight.controller?.signal.aborted && !(cacheMode === 'refresh' && !flight.refresh)) {
        this.#parts.limiter?.refund(call.tokens); // a joiner sends nothing
        call.flight = flight;
        // A joiner may leave; the job is aborted only when every caller has (never while an owner without signal waits).
        flight.calls.add(call);
        return;
      }
    }
    const canLeave = call.options?.signal !== undefined || call.timer !== undefined;
    const flight: Flight = {
      key,
      calls: new Set(),
      controller: canLeave ? new AbortController() : undefined,
      done: false,
      refresh: cacheMode === 'refresh',
      useCache,
      journalKey: this.#parts.journaling ? ((call.options as JournaledCallOptions | undefined)?.[JOURNAL_KEY] ?? (useCache ? key : undefined)) : undefined,
      jobId: undefined,
      reservedPico: estimatePico,
      request: call.request,
      leftKey: useCache ? key : undefined,
      end: undefined,
    };
    if (estimatePico > 0n) this.#parts.budget!.reserve(estimatePico);
    flight.calls.add(call);
    call.flight = flight;
    if (key !== undefined && dedupe) state.flights.set(key, flight);
    state.running++;
    // The slot is freed before callers hear the outcome, so metrics read after `await complete()` are settled.
    void this.#runner.run(flight, call).then((settle) => {
      flight.done = true;
      state.running--;
      this.unreserve(flight);
      if (flight.key !== undefined && state.flights.get(flight.key) === flight) state.flights.delete(flight.key);
      flight.end?.();
      try {
        settle?.();
      } finally {
        this.pump();
        state.checkIdle();
      }
    });
  }

  /** The budget is spent: every queued call is rejected, and the executor takes no more. */
  #exceedBudget(): void {
    const { state, queue, settler, budget, emitter } = this.#parts;
    const first = !state.budgetExceeded;
    state.budgetExceeded = true;
    let rejected = 0;
    for (const call of queue.drain()) {
      if (call.state !== QUEUED) continue;
      rejected++;
      settler.error(call, budget!.error());
    }
    if (first)
      emitter.emit('budget-exceeded', {
        at: this.#parts.clock.now(),
        budgetUsd: budget!.usd,
        spentUsd: picoToUsd(this.#parts.ledger.total.costPico),
        rejected,
      });
    state.checkIdle();
  }
}
