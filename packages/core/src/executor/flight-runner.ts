import { AmbiguousCreateError, toShoalError } from '../errors.js';
import type { Usage } from '../providers/types.js';
import { countTokens } from '../tokens.js';
import { picoToUsd } from '../util/money.js';
import type { CachedCompletion } from './cache.js';
import type { Call, Flight, Settle } from './call.js';
import { type Answer, FlightAttempts, leftKey } from './flight-attempts.js';
import { JournalSession } from './journal.js';
import type { RunnerParts } from './runner-parts.js';

/** The flight's answer goes into the cache under its key. */
function writesCache(flight: Flight): flight is Flight & { readonly key: string } {
  return flight.useCache && flight.key !== undefined;
}

/** The flight looks in the cache before any job (a refresh does not). */
function readsCache(flight: Flight): flight is Flight & { readonly key: string } {
  return writesCache(flight) && !flight.refresh;
}

/**
 * Runs one flight from dispatch to its callers' answer: waits for an earlier flight of the
 * same request to unwind, serves it from the cache when it can, holds the journal for its
 * request key, picks up what an earlier call or run left (a job to re-attach to, a lost
 * create), runs its attempts (`FlightAttempts`), then books and caches the answer.
 */
export class FlightRunner {
  readonly #parts: RunnerParts;
  readonly #onStoreError: () => void;
  /** Journal keys with a flight in progress, and when that flight's journal writes are over. */
  readonly #journaling = new Map<string, Promise<void>>();

  constructor(parts: RunnerParts) {
    this.#parts = parts;
    this.#onStoreError = () => {
      parts.state.storeErrors++;
    };
  }

  /** How to tell the flight's callers (undefined when they all left). Never rejects. */
  async run(flight: Flight, owner: Call): Promise<Settle> {
    try {
      // Nothing left by an earlier flight, no journal, no cache to read: straight to the job (the usual call, one async layer fewer).
      if (this.#parts.left.empty && flight.journalKey === undefined && !readsCache(flight)) return await this.#job(flight, owner, undefined);
      return await this.#cacheOrJob(flight, owner);
    } catch (unexpected) {
      const error = toShoalError(unexpected, 'the executor');
      return () => this.#parts.settler.flightError(flight, error);
    }
  }

  /** Before any job: an earlier flight of the request unwound, the journal key held, the cache read. */
  async #cacheOrJob(flight: Flight, owner: Call): Promise<Settle> {
    const { left, store, cache, settler, limiter } = this.#parts;
    if (!left.empty) {
      // A flight for this request whose callers left may still be waiting for its create's
      // answer: what it leaves (a job id, a lost create) must be known before this one looks.
      await left.settle(leftKey(this.#parts.provider.model, flight), () => flight.end !== undefined);
      if (flight.calls.size === 0) return undefined; // left meanwhile
    }
    const { journalKey } = flight;
    let over: (() => void) | undefined;
    if (journalKey !== undefined) {
      // A flight for this entry still unwinding (its callers left, or dedup is off): wait
      // until its journal entry is final, so that this one sees its result or its job; then
      // hold the key (before any await) for this flight.
      for (let previous = this.#journaling.get(journalKey); previous; previous = this.#journaling.get(journalKey)) await previous;
      this.#journaling.set(journalKey, new Promise<void>((resolve) => (over = resolve)));
    }
    const release = () => {
      if (journalKey !== undefined) {
        this.#journaling.delete(journalKey);
        over!();
      }
    };
    if (readsCache(flight)) {
      let hit: CachedCompletion | undefined;
      try {
        hit = await cache!.get(flight.key);
      } catch {
        hit = undefined; // a failing cache store must not fail the call; it only costs a job
      }
      if (hit) {
        release();
        limiter?.refund(owner.tokens); // no request was made
        const found = hit;
        return () => {
          for (const call of flight.calls) settler.cached(call, found);
        };
      }
    }
    if (journalKey === undefined) return await this.#job(flight, owner, undefined);
    // One session per flight of an entry (the request's cache key, or the call's own journal key).
    const session = new JournalSession(store!.journal, journalKey, this.#onStoreError);
    try {
      return await this.#job(flight, owner, session);
    } finally {
      await session.end();
      release();
    }
  }

  /** Picks up what was left for this request (by this process, or by an earlier run in the journal), then runs the attempts. */
  async #job(flight: Flight, owner: Call, session: JournalSession | undefined): Promise<Settle> {
    const parts = this.#parts;
    const { provider, left } = parts;
    // What a call of this process for the same request left when its callers stopped waiting
    // (taken only by a flight someone still waits for: one left meanwhile would drop it).
    if (flight.calls.size === 0) return undefined;
    const found = left.empty ? undefined : left.take(leftKey(parts.provider.model, flight));
    if (found?.kind === 'ambiguous' && !parts.retry.ambiguousCreates) {
      // Nobody saw that create's answer lost: a job may exist, so the same request is not sent again.
      const error = new AmbiguousCreateError(
        `An earlier call of this process for the same request sent a create whose answer was lost after its callers stopped waiting: a job may exist and be paid for. Not sent again; set \`retry: { ambiguousCreates: true }\` to send it anyway. (${found.error.message})`,
        { cause: found.error, callId: owner.id },
      );
      return () => parts.settler.flightError(flight, error);
    }
    // A job this process created for the same request: re-attach, book nothing again.
    const detached = found?.kind === 'job' && provider.doResume ? found : undefined;
    if (detached) flight.jobId = detached.jobId;
    // What an earlier run left: a job to wait for by id, or a create it may have sent.
    const entry = session ? await session.lookup() : undefined;
    const resumeJobId = detached?.jobId ?? (provider.doResume ? entry?.jobId : undefined);
    if (entry && resumeJobId === undefined) {
      parts.state.recreated++;
      parts.emitter.call('job-recreated', owner, { idempotencyKey: entry.idempotencyKey, jobId: entry.jobId });
    }
    const attempts = new FlightAttempts(parts, flight, owner, session, {
      resumeJobId,
      idempotencyRoot: entry?.idempotencyKey ?? owner.id,
      bookedPico: detached?.bookedPico ?? 0n,
    });
    const outcome = await attempts.run();
    if (typeof outcome !== 'object') return outcome;
    // Booked without an await when the answer reports its usage and nothing is cached (the usual call).
    if (outcome.result.usage && !writesCache(flight)) return this.#book(flight, owner, outcome, outcome.result.usage, 'usage').settle;
    return await this.#succeed(flight, owner, outcome, session);
  }

  /** Books the answer's final cost, corrects the tokens reserved, caches it (closing the journal entry). */
  async #succeed(flight: Flight, owner: Call, answer: Answer, session: JournalSession | undefined): Promise<() => void> {
    const { cache } = this.#parts;
    const { result } = answer;
    let usage = result.usage;
    let usageSource: 'usage' | 'counted' = 'usage';
    if (!usage) {
      usage = { inputTokens: await countTokens(owner.request.prompt), cachedInputTokens: 0, outputTokens: await countTokens(result.text) };
      usageSource = 'counted';
    }
    const { settle, costUsd } = this.#book(flight, owner, answer, usage, usageSource);
    if (writesCache(flight)) {
      const entry: CachedCompletion = { text: result.text, jobId: result.jobId, usage, costUsd, model: result.model };
      try {
        await cache!.set(flight.key, entry);
        // Cached: the journal entry can close. Else it stays, so a rerun fetches the job again by id, at no cost.
        session?.succeeded();
      } catch {
        // a failing cache store costs a later job, never this result
        if (session) this.#parts.state.storeErrors++;
      }
    }
    return settle;
  }

  /** Books the answer's final cost and corrects the tokens reserved; returns how to tell the callers (with the call's cost). */
  #book(flight: Flight, owner: Call, answer: Answer, usage: Usage, usageSource: 'usage' | 'counted'): { settle: () => void; costUsd: number } {
    const { ledger, budget, limiter } = this.#parts;
    const { result } = answer;
    if (limiter?.countsTokens && owner.tokens > 0) limiter.settle(owner.tokens, usage.inputTokens + usage.outputTokens);
    const cost = ledger.costOf(result.amountUsd, usage, usageSource);
    budget?.observe(cost.pico);
    // What was booked for this job already (at its create) is corrected to the final figure (the query may report its own amount).
    ledger.record('job', usage, cost.pico - answer.jobBookedPico, owner.options?.tags, cost.source === 'unpriced');
    // The call's cost: its job (whoever booked it) and any other job it paid for (failed ones).
    const costUsd = picoToUsd(answer.otherJobsPico + cost.pico);
    const unpriced = cost.source === 'unpriced';
    const settle = () => this.#parts.settler.flight(flight, owner, { result, usage, costUsd, attempts: answer.attempts, requests: answer.requests, unpriced });
    return { settle, costUsd };
  }
}
