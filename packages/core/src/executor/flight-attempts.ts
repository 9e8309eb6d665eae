import { type RateLimitError, RetriesExhaustedError, ShoalError, toShoalError } from '../errors.js';
import type { ProviderCallContext, ProviderResult } from '../providers/types.js';
import { parseUsdToPico } from '../util/money.js';
import { sleep } from '../util/sleep.js';
import { requestKey } from './cache.js';
import type { Call, Flight, Settle } from './call.js';
import type { JournalSession } from './journal.js';
import { decideRetry } from './retry-policy.js';
import type { RunnerParts } from './runner-parts.js';

/** A flight's job answered. */
export interface Answer {
  readonly result: ProviderResult;
  readonly attempts: number;
  readonly requests: number;
  /** Booked by this flight for jobs other than the one that answered (failed ones). */
  readonly otherJobsPico: bigint;
  /** What the ledger already holds for the job that answered (booked at its create, here or by a flight that left it). */
  readonly jobBookedPico: bigint;
}

/** Where a flight's attempts start: a job to re-attach to, and the idempotency key's root. */
export interface AttemptsStart {
  readonly resumeJobId: string | undefined;
  readonly idempotencyRoot: string;
  /** What the ledger holds already for the job re-attached to (booked by the flight that created it). */
  readonly bookedPico: bigint;
}

/**
 * The attempts of one flight: creates (or re-attaches to a job by id) and retries under the
 * retry policy. Money is booked when a job is created (ShortAPI charges at create), so
 * failed, aborted and replaced jobs are counted, and the budget sees jobs still in flight.
 * Each replacement of a failed job is sent under a new idempotency key (`root.N`).
 */
export class FlightAttempts {
  readonly #parts: RunnerParts;
  readonly #flight: Flight;
  readonly #owner: Call;
  readonly #session: JournalSession | undefined;
  readonly #signal: AbortSignal;
  readonly #root: string;
  #resumeJobId: string | undefined;
  readonly #errors: ShoalError[] = [];
  #requests = 0;
  /** What this flight's creates booked. */
  #charged = 0n;
  /** What the ledger holds for the current job; and the part of it this flight booked. */
  #jobBooked: bigint;
  #jobBookedHere = 0n;
  #generation = 0;

  constructor(parts: RunnerParts, flight: Flight, owner: Call, session: JournalSession | undefined, start: AttemptsStart) {
    this.#parts = parts;
    this.#flight = flight;
    this.#owner = owner;
    this.#session = session;
    this.#signal = flight.controller?.signal ?? parts.stop;
    this.#root = start.idempotencyRoot;
    this.#resumeJobId = start.resumeJobId;
    this.#jobBooked = start.bookedPico;
  }

  /** Runs until an answer, a final error (returned as how to tell the callers), or until every caller has left (undefined). */
  async run(): Promise<Answer | Settle> {
    const { gate, provider } = this.#parts;
    const flight = this.#flight;
    const session = this.#session;
    for (let attempt = 1; ; attempt++) {
      if (flight.calls.size === 0) return this.detach(); // every caller stopped waiting
      if (attempt > 1 && gate) {
        // A create sent again waits in line with the polls: many retries woken by one Retry-After leave one by one.
        const paced = gate.acquire(this.#signal, this.#owner.tokens);
        if (paced) {
          try {
            await paced;
          } catch {
            return this.detach();
          }
        }
      }
      const context = this.#context(attempt);
      let result: ProviderResult;
      try {
        if (this.#resumeJobId !== undefined) {
          result = await this.#resume(this.#resumeJobId, attempt, context);
        } else {
          if (session) {
            await session.beforeCreate(context.idempotencyKey);
            // The journal write took a turn: the callers may have left, or a shutdown begun, meanwhile.
            if (flight.calls.size === 0 || this.#signal.aborted) {
              session.withdraw();
              return this.detach();
            }
          }
          result = await provider.doComplete(this.#owner.request, context);
        }
      } catch (raw) {
        const next = await this.#failed(toShoalError(raw, 'the provider'), attempt, context.answered);
        if (next === 'retry') continue;
        return next;
      }
      if (!context.answered) this.#parts.onAccepted();
      flight.jobId = undefined;
      return { result, attempts: attempt, requests: this.#requests, otherJobsPico: this.#charged - this.#jobBookedHere, jobBookedPico: this.#jobBooked };
    }
  }

  /** Every caller left (or the executor stopped): a job left running is remembered, so the same request re-attaches to it. */
  detach(): undefined {
    const { provider, left } = this.#parts;
    if (this.#flight.jobId !== undefined && provider.doResume)
      left.remember(leftKey(this.#parts.provider.model, this.#flight), { kind: 'job', jobId: this.#flight.jobId, bookedPico: this.#jobBooked });
    return undefined;
  }

  #resume(jobId: string, attempt: number, context: ProviderCallContext): Promise<ProviderResult> {
    this.#resumeJobId = undefined; // once: a replacement after a failed job is a new create
    this.#flight.jobId = jobId;
    this.#parts.state.resumed++;
    this.#parts.emitter.call('job-resumed', this.#owner, { jobId, attempt });
    return this.#parts.provider.doResume!(this.#owner.request, jobId, context);
  }

  /** What the provider gets for one attempt. `answered`: whether it reported an answer (a provider written before `onAnswer` reports none: the executor counts for it). */
  #context(attempt: number): ProviderCallContext & { answered: boolean } {
    const parts = this.#parts;
    const { gate, clock } = parts;
    const signal = this.#signal;
    /** The poll in flight, for its `job-poll` event: when it was sent, and its number for this job. */
    let pollSentAt: number | undefined;
    let poll = 0;
    const polled = (status: number | undefined) => {
      if (pollSentAt === undefined) return;
      const jobId = this.#flight.jobId;
      if (jobId !== undefined)
        parts.emitter.call('job-poll', this.#owner, { jobId, attempt, poll, sentAt: pollSentAt, durationMs: clock.now() - pollSentAt, status });
      pollSentAt = undefined;
    };
    const context = {
      answered: false,
      signal,
      callId: this.#owner.id,
      idempotencyKey: this.#generation === 0 ? this.#root : `${this.#root}.${this.#generation}`,
      attempt,
      clock,
      retryPoll: (error: unknown, pollAttempt: number) => {
        polled(ShoalError.isInstance(error) ? error.status : undefined);
        if (ShoalError.isInstance(error) && error.code === 'RATE_LIMITED') parts.onRateLimited((error as RateLimitError).retryAfterMs);
        return decideRetry({ error, attempt: pollAttempt, options: parts.retry, random: parts.random, phase: 'poll' });
      },
      ...(gate ? { beforeQuery: () => gate.acquire(signal) } : {}),
      hardStop: parts.kill,
      onAnswer: (status: number) => {
        context.answered = true;
        polled(status);
        if (status !== 429) parts.onAccepted(); // a 429 is counted with its error, which carries the Retry-After
      },
      onRequest: (kind: 'create' | 'query') => {
        this.#requests++;
        parts.state.requests++;
        if (kind === 'query') {
          poll++;
          pollSentAt = clock.now();
        }
      },
      onJobCreated: (jobId: string, amountUsd: string | undefined) => this.#created(jobId, amountUsd, attempt),
    };
    return context;
  }

  /** A job was created: journal it, and book its charge at once. */
  #created(jobId: string, amountUsd: string | undefined, attempt: number): void {
    const parts = this.#parts;
    parts.state.jobs++;
    this.#flight.jobId = jobId;
    this.#session?.created(jobId);
    const pico = amountUsd === undefined ? undefined : parseUsdToPico(amountUsd);
    this.#jobBooked = this.#jobBookedHere = 0n;
    if (pico !== undefined) {
      parts.ledger.charge(pico, this.#owner.options?.tags);
      // The first charge ends the budget's slow start: wake the dispatcher rather than wait for this job to end.
      if (parts.budget?.observe(pico)) queueMicrotask(() => parts.wake());
      this.#charged += pico;
      this.#jobBooked = this.#jobBookedHere = pico;
      parts.unreserve(this.#flight); // the charge itself now counts against the budget
    }
    parts.emitter.call('job-created', this.#owner, { jobId, attempt, amountUsd });
  }

  /** An attempt failed: retry after a pause, or end with how to tell the callers. */
  async #failed(error: ShoalError, attempt: number, answered: boolean): Promise<'retry' | Settle> {
    const parts = this.#parts;
    const flight = this.#flight;
    const owner = this.#owner;
    this.#session?.afterError(error);
    if (!answered && error.status !== undefined && error.status !== 429) parts.onAccepted();
    if (flight.calls.size === 0) {
      // Its callers were answered already; nobody sees this error. A create whose answer was lost is remembered as such.
      if (error.code === 'CREATE_AMBIGUOUS') parts.left.remember(leftKey(parts.provider.model, flight), { kind: 'ambiguous', error });
      return this.detach();
    }
    error.attempt ??= attempt;
    error.callId ??= owner.id;
    this.#errors.push(error);
    if (error.code === 'JOB_FAILED' || error.code === 'JOB_NOT_FOUND') {
      // That job is over: a replacement is a new job, under a new key.
      this.#generation++;
      flight.jobId = undefined;
      this.#jobBooked = this.#jobBookedHere = 0n;
    }
    if (error.code === 'RATE_LIMITED') parts.onRateLimited((error as RateLimitError).retryAfterMs);
    const decision = decideRetry({ error, attempt, options: parts.retry, random: parts.random, phase: 'call' });
    const overBudget = parts.budget?.spent ?? false;
    if (!decision.retry || overBudget) {
      // A job given up on while it may still run (its poll deadline passed) is left for the same request to re-attach to.
      if (error.code === 'TIMEOUT') this.detach();
      const final = decision.retry
        ? parts.budget!.error()
        : decision.exhausted && this.#errors.length > 1
          ? new RetriesExhaustedError(this.#errors, { callId: owner.id, jobId: error.jobId })
          : error;
      return () => parts.settler.flightError(flight, final, attempt);
    }
    parts.state.retries++;
    parts.emitter.call('call-retry', owner, { attempt, delayMs: decision.delayMs, error });
    try {
      await sleep(decision.delayMs, this.#signal, undefined, parts.clock);
    } catch {
      return this.detach();
    }
    return 'retry';
  }
}

/** The request key of a flight's request, for LeftJobs: the cache key when it has one, else made now (rare: only when something was left). */
export function leftKey(model: string, flight: Flight): string {
  return (flight.leftKey ??= requestKey(model, flight.request));
}
