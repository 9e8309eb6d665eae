import { type CompletionResult, type Executor, ExecutorClosedError, ShoalConfigError } from '@shoal/core';
import { parseUsdToPico, usdToPico } from '@shoal/core/internal';
import type { Redis } from 'ioredis';
import { quiet } from './connection.js';
import { HandBackNow } from './hand-back.js';
import { type Admission, BudgetRecords } from './shared-budget.js';

/** Without a message (Redis away, a reservation that expired), a waiting call asks again after this long. */
const ASK_AGAIN_MS = 1000;

/** A call of a budget on this worker, from its admission to its end: what it booked, and whether it still holds a reservation. */
interface Spending {
  readonly budget: string;
  /** The call's id on the worker's executor. */
  callId?: string;
  readonly token: string;
  reserved: boolean;
  bookedPico: bigint;
  /** A job of this call was created without its charge: the result's cost is booked at the end. */
  unknownCharge: boolean;
  /** The writes to Redis, awaited before the call's result goes back (so the producer reads them). */
  readonly writes: Promise<unknown>[];
}

/**
 * The worker's side of the producers' budgets: before a call of a budget runs, room is
 * reserved for it in Redis (or it waits for room, or fails with BudgetExceededError);
 * then its job's charge is booked there when the create answers (the executor's
 * `job-created`), taking the reservation's place, failed jobs included; a call that made no
 * job of its own (an answer from the cache, a job another worker created) hands its
 * reservation back. A worker hears of room freed by the others on a Redis channel.
 */
export class WorkerBudgets {
  readonly #redis: Redis;
  readonly #records: BudgetRecords;
  /** The calls of the worker's executor that spend from a budget, by the executor's call id. */
  readonly #byCall = new Map<string, Spending>();
  /** The call being handed to the executor now: `call-queued` (emitted within `complete()`) gives its id. */
  #starting: Spending | undefined;
  readonly #waiting = new Map<string, Set<() => void>>();
  #subscriber: Redis | undefined;
  #subscribed: Promise<unknown> | undefined;
  #closing = false;

  constructor(redis: Redis, queue: string, executor: Executor) {
    this.#redis = redis;
    this.#records = new BudgetRecords(redis, queue);
    executor.events.on('call-queued', (event) => {
      if (!this.#starting) return;
      this.#starting.callId = event.callId;
      this.#byCall.set(event.callId, this.#starting);
      this.#starting = undefined;
    });
    executor.events.on('job-created', (event) => {
      const spending = this.#byCall.get(event.callId);
      if (spending) this.#charged(spending, event.amountUsd === undefined ? undefined : parseUsdToPico(event.amountUsd));
    });
    // A job another worker created (it died mid-call): that worker booked its charge.
    executor.events.on('job-resumed', (event) => {
      const spending = this.#byCall.get(event.callId);
      if (spending) this.#release(spending);
    });
  }

  /**
   * Runs `start` (the call on the worker's executor) once the budget has room for it.
   * `token` is the BullMQ job's id. A call admitted before (its worker died, or handed it
   * back, and its job may be paid already) is let through whatever is spent: Redis keeps
   * its admission until the call ends for good.
   */
  async run(budget: string, token: string, start: () => Promise<CompletionResult>): Promise<CompletionResult> {
    await this.#admit(budget, token);
    const spending: Spending = { budget, token, reserved: true, bookedPico: 0n, unknownCharge: false, writes: [] };
    let call: Promise<CompletionResult>;
    this.#starting = spending;
    try {
      call = start();
    } finally {
      this.#starting = undefined;
    }
    // Stopped by the worker's close (the executor shut down): the call goes back to the queue, admitted.
    let ended = true;
    try {
      const result = await call;
      if (spending.unknownCharge) {
        // The server said no amount at the create: the result's cost stands for what is not booked yet.
        const rest = (usdToPico(result.costUsd) ?? 0n) - spending.bookedPico;
        if (rest > 0n) this.#charged(spending, rest);
      }
      return result;
    } catch (error) {
      if (ExecutorClosedError.isInstance(error)) ended = false;
      throw error;
    } finally {
      if (spending.callId !== undefined) this.#byCall.delete(spending.callId);
      if (ended) {
        spending.reserved = false;
        spending.writes.push(this.#records.release(spending.budget, spending.token, true));
      } else {
        this.#release(spending);
      }
      await Promise.allSettled(spending.writes);
    }
  }

  /** Calls waiting for room are handed back to the queue (`HandBackNow`) instead of holding the worker open. */
  close(): void {
    this.#closing = true;
    for (const wakers of this.#waiting.values()) for (const wake of wakers) wake();
    this.#subscriber?.disconnect();
  }

  async #admit(budget: string, token: string): Promise<void> {
    // Until the first wait nobody listens; from then on, a change published while Redis answers is not missed.
    let changed: { promise: Promise<void>; cancel(): void } | undefined;
    for (;;) {
      let admission: Admission;
      try {
        admission = await this.#records.admit(budget, token);
      } catch (error) {
        changed?.cancel();
        throw error;
      }
      if (admission.status !== 'wait' || this.#closing) changed?.cancel();
      if (admission.status === 'admitted') return;
      if (admission.status === 'spent') throw admission.error;
      if (admission.status === 'missing') {
        throw new ShoalConfigError(
          `The call's budget (${budget}) is not in Redis: it expired (30 days without a charge) or Redis lost it. Nothing was sent; send the call again from a producer.`,
        );
      }
      if (this.#closing) throw new HandBackNow();
      if (changed) await changed.promise;
      else await this.#subscribe();
      changed = this.#changed(budget);
    }
  }

  /** Resolves when a budget changes (a message, the worker closing) or after ASK_AGAIN_MS. */
  #changed(budget: string): { promise: Promise<void>; cancel(): void } {
    let wakers = this.#waiting.get(budget);
    if (!wakers) this.#waiting.set(budget, (wakers = new Set()));
    let timer: NodeJS.Timeout | undefined;
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        if (wakers.size === 0) this.#waiting.delete(budget);
        resolve();
      };
    });
    wakers.add(wake);
    timer = setTimeout(wake, ASK_AGAIN_MS);
    return { promise, cancel: wake };
  }

  #subscribe(): Promise<unknown> {
    if (this.#closing) return Promise.resolve();
    if (!this.#subscribed) {
      const subscriber = quiet(this.#redis.duplicate({ enableAutoPipelining: false }));
      this.#subscriber = subscriber;
      subscriber.on('message', (_channel: string, budget: string) => {
        for (const wake of [...(this.#waiting.get(budget) ?? [])]) wake();
      });
      // A failed subscribe leaves the waiting calls asking every ASK_AGAIN_MS.
      this.#subscribed = subscriber.subscribe(this.#records.channel).catch(() => undefined);
    }
    return this.#subscribed;
  }

  /** A job of the call was charged `pico` (undefined: the server did not say): booked in Redis, in the reservation's place. */
  #charged(spending: Spending, pico: bigint | undefined): void {
    if (pico === undefined) {
      spending.unknownCharge = true;
      return;
    }
    const release = spending.reserved;
    spending.reserved = false;
    spending.bookedPico += pico;
    spending.writes.push(this.#records.book(spending.budget, spending.token, pico, release));
  }

  #release(spending: Spending): void {
    if (!spending.reserved) return;
    spending.reserved = false;
    spending.writes.push(this.#records.release(spending.budget, spending.token, false));
  }
}
