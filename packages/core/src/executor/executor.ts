import { setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import { nanoid } from 'nanoid';
import {
  AbortError,
  AmbiguousCreateError,
  ExecutorClosedError,
  type RateLimitError,
  RetriesExhaustedError,
  ShoalConfigError,
  ShoalError,
  TimeoutError,
} from '../errors.js';
import type { CompletionRequest, ModelProvider, ProviderCallContext, ProviderResult, Usage } from '../providers/types.js';
import { countTokens, countTokensSync, loadTokenizer } from '../tokens.js';
import { describeValue } from '../util/describe.js';
import { parseUsdToPico, picoToUsd } from '../util/money.js';
import { expectNumber, rejectUnknownKeys } from '../util/options.js';
import { SampleWindow } from '../util/percentiles.js';
import { sleep } from '../util/sleep.js';
import { AdaptiveConcurrency } from './adaptive-concurrency.js';
import { type CacheStore, type CachedCompletion, inFlightKey, requestKey } from './cache.js';
import { type DurableStore, JournalSession } from './journal.js';
import type { ExecutorEvents } from './events.js';
import { PriorityHeap } from './heap.js';
import { CostLedger, snapshotTotals } from './ledger.js';
import { RateLimiter } from './rate-limiter.js';
import { RequestGate } from './request-gate.js';
import { Budget } from './budget.js';
import { LeftJobs } from './left-jobs.js';
import { type RetryOptions, decideRetry } from './retry-policy.js';
import { checkCallOptions, checkCloseOptions, checkRequest, resolveExecutorOptions } from './options.js';

export type { CallOptions, CompletionResult, Executor, ExecutorMetrics, ExecutorOptions, ShutdownOptions, ShutdownReport } from './types.js';
import type { CallOptions, CompletionResult, Executor, ExecutorMetrics, ExecutorOptions, ShutdownOptions, ShutdownReport } from './types.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
/** After a shutdown's deadline, how long a create already sent may take to answer before it is cut off. */
const CREATE_GRACE_MS = 1000;

/** True when `work` is not done within `ms`. */
async function lateBy(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
const QUEUED = 0;
const RUNNING = 1;
const SETTLED = 2;

/** A waiting or running call. Kept small: a million of them may wait at once. */
class Call {
  state = QUEUED;
  flight: Flight | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  tokens = 0;
  #id: string | undefined = undefined;
  constructor(
    readonly seq: number,
    readonly priority: number,
    readonly request: CompletionRequest,
    readonly options: CallOptions | undefined,
    readonly enqueuedAt: number,
    readonly resolve: (result: CompletionResult) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /** A nanoid, made when first needed (an event, or dispatch): waiting calls do not pay for it. */
  get id(): string {
    return (this.#id ??= nanoid());
  }
}

/** One job's worth of work, shared by every identical call that joined it. */
interface Flight {
  readonly key: string | undefined;
  readonly calls: Set<Call>;
  /** Only when some caller can stop waiting (a signal or a timeout); else the provider gets the executor's stop signal. */
  readonly controller: AbortController | undefined;
  /** Set once the outcome is known, so that settling callers does not abort finished work. */
  done: boolean;
  /** Started by a call with `cache: 'refresh'`: skips the cache read, and only such calls join it. */
  readonly refresh: boolean;
  /** The job being waited for, once created or re-attached to. */
  jobId: string | undefined;
  /** This flight's budget reservation, until its job's charge is booked. */
  reservedPico: bigint;
  /** The owner's request, and its request key once computed, for what the flight leaves behind (`LeftJobs`). */
  readonly request: CompletionRequest;
  leftKey: string | undefined;
  /** Set only when the flight is left by its callers while still running: tells LeftJobs it is over. */
  end: (() => void) | undefined;
}

/** What a successful flight hands to #succeed. */
interface Tally {
  readonly attempts: number;
  readonly requests: number;
  readonly useCache: boolean;
  /** Booked by this flight for jobs other than the one that answered (failed ones). */
  readonly otherJobsPico: bigint;
  /** What the ledger already holds for the job that answered (booked at its create, here or by a flight that left it). */
  readonly jobBookedPico: bigint;
}

let capturedResolve: ((result: CompletionResult) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function captureResolvers(resolve: (result: CompletionResult) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

export function createExecutor(options: ExecutorOptions): Executor {
  return new ShoalExecutor(options);
}

class ShoalExecutor implements Executor {
  readonly events = new EventEmitter<ExecutorEvents>();
  readonly provider: ModelProvider;
  readonly #heap = new PriorityHeap<Call>();
  readonly #concurrency: AdaptiveConcurrency;
  readonly #adaptive: boolean;
  readonly #limiter: RateLimiter | undefined;
  readonly #reservedOutputTokens: number;
  readonly #retry: Required<RetryOptions>;
  readonly #cache: CacheStore | undefined;
  readonly #store: DurableStore | undefined;
  /** What calls left when their callers stopped waiting: jobs to re-attach to, lost creates, flights still unwinding. */
  readonly #left = new LeftJobs();
  /** Cuts off creates still in flight, once a shutdown's deadline and its grace have passed. */
  readonly #kill = new AbortController();
  /** Journal keys with a flight in progress, and when that flight's journal writes are over. */
  readonly #journaling = new Map<string, Promise<void>>();
  /** Flights no caller can leave still stop at a shutdown's deadline: nothing is sent once shutdown() resolves. */
  readonly #stop = new AbortController();
  /** Where polls wait for the rate limiter (ahead of new calls). */
  readonly #gate: RequestGate | undefined;
  readonly #dedupe: boolean;
  readonly #flights = new Map<string, Flight>();
  readonly #ledger: CostLedger;
  readonly #budget: Budget | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #random: () => number;
  /**
   * One abort listener per distinct signal, however many calls share it (Node checks each
   * new listener against all others, so one per call is quadratic). When it fires, the
   * queue and the running calls are scanned for that signal: one pass, no per-call index.
   */
  readonly #watched = new WeakSet<AbortSignal>();
  /** Calls holding a slot or joined to a flight. */
  readonly #active = new Set<Call>();
  readonly #latency = new SampleWindow(10_000);
  #seq = 0;
  #queued = 0;
  #running = 0;
  #done = 0;
  #failed = 0;
  #cachedCount = 0;
  #dedupedCount = 0;
  #retries = 0;
  #jobs = 0;
  #requests = 0;
  #pumpTimer: NodeJS.Timeout | undefined;
  #tokenizerReady: boolean;
  #budgetExceeded = false;
  #closed = false;
  #lastEffective: number;
  #idleWaiters: (() => void)[] = [];
  #resumed = 0;
  #recreated = 0;
  #storeErrors = 0;
  #ending: Promise<ShutdownReport> | undefined;
  /** A shutdown (a signal, a deadline): it takes over from a draining close() that is still running. */
  #shuttingDown: Promise<ShutdownReport> | undefined;
  #resourcesClosed: Promise<void> | undefined;
  /** Calls refused because the executor was closed or shutting down (work a caller still wanted). */
  #refusedAfterClose = 0;
  #rateLimitedCount = 0;
  readonly #onStoreError = () => {
    this.#storeErrors++;
  };

  constructor(options: ExecutorOptions) {
    const resolved = resolveExecutorOptions(options);
    this.provider = resolved.provider;
    const concurrency = resolved.concurrency;
    const now = () => performance.now();
    this.#concurrency = new AdaptiveConcurrency(concurrency, now);
    this.#lastEffective = concurrency;
    this.#adaptive = resolved.adaptiveConcurrency;
    const rateLimit = resolved.rateLimit;
    // Every request passes the limiter: configured buckets, and the rate learnt from 429s (unless `adaptive: false`).
    this.#limiter = rateLimit?.requestsPerMinute || rateLimit?.tokensPerMinute || rateLimit?.adaptive !== false ? new RateLimiter(rateLimit ?? {}, now) : undefined;
    this.#gate = this.#limiter ? new RequestGate(this.#limiter, () => this.#pump(), () => this.#queued > 0) : undefined;
    this.#reservedOutputTokens = resolved.reservedOutputTokens;
    // Token counts are needed for a tokens-per-minute limit and to estimate a call's cost against a budget.
    this.#tokenizerReady = !rateLimit?.tokensPerMinute && resolved.budgetUsd === undefined;
    if (!this.#tokenizerReady) {
      void loadTokenizer().then(() => {
        this.#tokenizerReady = true;
        this.#pump();
      });
    }
    this.#retry = resolved.retry;
    this.#store = resolved.store;
    // One listener per waiting poll or request of each flight: as many as calls in flight.
    setMaxListeners(0, this.#stop.signal);
    setMaxListeners(0, this.#kill.signal); // one per create in flight
    this.#cache = resolved.cache;
    this.#dedupe = resolved.dedupe;
    this.#ledger = new CostLedger(resolved.pricing);
    if (resolved.budgetUsd !== undefined) this.#budget = new Budget(resolved.budgetUsd, this.#ledger);
    this.#timeoutMs = resolved.timeoutMs;
    this.#random = resolved.random;
  }

  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult> {
    // Both checks are plain loops that allocate nothing for valid input (this is the hot path).
    const invalid = checkRequest(request) ?? checkCallOptions(options);
    if (invalid) return Promise.reject(invalid);
    if (this.#closed) {
      this.#refusedAfterClose++;
      return Promise.reject(new ExecutorClosedError());
    }
    if (this.#budgetExceeded) return Promise.reject(this.#budget!.error());
    const priority = options?.priority ?? 0;
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(this.#abortReason(signal));
    // A shared executor function (no closure per call): with a million calls waiting, every allocation shows in GC time.
    const promise = new Promise<CompletionResult>(captureResolvers);
    const call = new Call(this.#seq++, priority, request, options, performance.now(), capturedResolve!, capturedReject!);
    capturedResolve = capturedReject = undefined;
    if (signal) this.#watchSignal(signal);
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs;
    // Node's timers overflow past 2^31-1 ms (about 24.8 days) and would fire at once: longer means no deadline.
    if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) call.timer = setTimeout(() => this.#timeout(call, timeoutMs), timeoutMs);
    this.#queued++;
    this.#heap.push(call);
    if (this.events.listenerCount('call-queued') > 0) {
      this.#emit('call-queued', { callId: call.id, at: call.enqueuedAt, tags: options?.tags, spanId: options?.spanId, priority });
    }
    if (this.#running < this.#concurrency.max) this.#pump();
    return promise;
  }

  metrics(): ExecutorMetrics {
    const [p50, p95, p99] = this.#latency.percentiles(50, 95, 99);
    const totals = snapshotTotals(this.#ledger.total);
    const learned = this.#limiter?.learned?.perSecond;
    return {
      queued: this.#queued,
      running: this.#running,
      done: this.#done,
      failed: this.#failed,
      cached: this.#cachedCount,
      deduplicated: this.#dedupedCount,
      retries: this.#retries,
      jobs: this.#jobs,
      requests: this.#requests,
      requestsPerJob: this.#jobs === 0 ? 0 : this.#requests / this.#jobs,
      rateLimited: this.#rateLimitedCount,
      learnedRequestsPerMinute: learned === undefined || learned === Infinity ? undefined : learned * 60,
      latencyMs: { p50: p50!, p95: p95!, p99: p99!, mean: this.#latency.mean() },
      concurrency: { limit: this.#concurrency.max, effective: this.#concurrency.current },
      totals,
      costUsd: totals.costUsd,
      byTag: this.#ledger.byTag(),
      budgetUsd: this.#budget?.usd,
      refusedAfterClose: this.#refusedAfterClose,
      recovery: { resumed: this.#resumed, recreated: this.#recreated, storeErrors: this.#storeErrors },
    };
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
    this.#closed = true;
    const rejectedQueued = options?.drain === false ? this.#rejectQueued('The executor was closed before this call was dispatched.') : 0;
    const waited = this.#active.size + this.#queued;
    this.#ending = this.#untilIdle().then(async () => {
      await this.#closeResources();
      return { rejectedQueued, finished: waited, abandoned: 0, clean: rejectedQueued === 0 };
    });
    await this.#ending;
  }

  shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    if (typeof options !== 'object' || options === null) return Promise.reject(new ShoalConfigError(`shutdown() takes { deadlineMs? }, got ${describeValue(options)}.`));
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
    this.#closed = true;
    const rejectedQueued = this.#rejectQueued(
      `The executor shut down before this call was dispatched: nothing was sent for it.${this.#store ? ' Run again with the same store to do it.' : ''}`,
    );
    const running = this.#active.size;
    let abandoned = 0;
    if (this.#running > 0) {
      const idle = this.#untilIdle();
      if (await lateBy(idle, deadlineMs)) {
        const left = this.#store
          ? 'Its job, if created, keeps running on the server and stays in the journal: a rerun with the same store re-attaches to it.'
          : 'A job already created keeps running on the server.';
        for (const call of [...this.#active]) {
          abandoned++;
          this.#settleError(call, new ExecutorClosedError(`The executor shut down and its deadline of ${deadlineMs} ms passed with this call still running. ${left}`));
        }
        // Flights nobody could leave stop on the executor's stop signal. A create already sent
        // gets a short grace to answer (its job is then booked and journaled), and is cut off
        // after it: with a store its intent stays journaled, and a rerun sends it again under
        // the same idempotency key (counted as re-created). Nothing is sent once this resolves.
        this.#stop.abort(new AbortError('the executor shut down'));
        if (await lateBy(idle, CREATE_GRACE_MS)) {
          this.#kill.abort(new AbortError('the executor shut down, and the grace for creates in flight passed'));
          await idle;
        }
      }
    }
    await this.#closeResources();
    return { rejectedQueued, finished: running - abandoned, abandoned, clean: rejectedQueued === 0 && abandoned === 0 };
  }

  #rejectQueued(message: string): number {
    let rejected = 0;
    for (const call of this.#heap.drain()) {
      if (call.state !== QUEUED) continue;
      rejected++;
      this.#settleError(call, new ExecutorClosedError(message));
    }
    return rejected;
  }

  #untilIdle(): Promise<void> {
    if (this.#queued + this.#running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #closeResources(): Promise<void> {
    this.#resourcesClosed ??= (async () => {
      clearTimeout(this.#pumpTimer);
      this.#gate?.close(new ExecutorClosedError());
      await this.provider.close?.();
      if (this.#store) await this.#store.close();
      else await this.#cache?.close?.();
    })();
    return this.#resourcesClosed;
  }

  // ---- dispatch ----

  #pump(): void {
    const effective = this.#concurrency.current;
    if (effective !== this.#lastEffective) {
      if (effective > this.#lastEffective && this.events.listenerCount('concurrency-change') > 0) {
        this.#emit('concurrency-change', { at: performance.now(), from: this.#lastEffective, to: effective, reason: 'recovered' });
      }
      this.#lastEffective = effective;
    }
    while (this.#heap.size > 0 && this.#running < this.#concurrency.current) {
      const head = this.#heap.peek()!;
      if (head.state !== QUEUED) {
        this.#heap.pop(); // cancelled while waiting (lazy removal)
        continue;
      }
      if (!this.#tokenizerReady) return; // resumes when the tokenizer has loaded
      if (head.tokens === 0 && (this.#limiter?.tokens || this.#budget)) head.tokens = (countTokensSync(head.request.prompt) ?? 0) + this.#reservedOutputTokens;
      let estimatePico = 0n;
      if (this.#budget) {
        if (this.#budget.spent) {
          this.#exceedBudget();
          return;
        }
        estimatePico = this.#budget.estimate(head.tokens - this.#reservedOutputTokens, this.#reservedOutputTokens);
        // While the calls in flight could take the spend past the budget, wait for them rather than dispatch more.
        if (!this.#budget.fits(estimatePico, this.#running)) return;
      }
      if (this.#limiter) {
        // Requests of running calls waiting for the limiter take turns with new calls; the gate wakes this when it is their turn.
        if (!this.#gate!.mayDispatch) return;
        const waitMs = this.#limiter.waitMs(head.tokens);
        if (waitMs > 0) {
          if (this.#pumpTimer === undefined) {
            this.#pumpTimer = setTimeout(() => {
              this.#pumpTimer = undefined;
              this.#pump();
            }, waitMs);
          }
          return;
        }
      }
      this.#heap.pop();
      this.#queued--;
      head.state = RUNNING;
      this.#limiter?.take(head.tokens); // now, not after an await: the next head in this loop must see it
      this.#gate?.dispatched();
      this.#dispatch(head, estimatePico);
    }
  }

  #dispatch(call: Call, estimatePico: bigint): void {
    this.#active.add(call);
    const now = performance.now();
    if (this.events.listenerCount('call-start') > 0) {
      this.#emit('call-start', { callId: call.id, at: now, tags: call.options?.tags, spanId: call.options?.spanId, priority: call.priority, queuedMs: now - call.enqueuedAt });
    }
    const cacheMode = call.options?.cache;
    const useCache = this.#cache !== undefined && cacheMode !== false;
    // A hashed key when the cache needs one (stores persist keys); the plain text is enough to spot identical calls in flight.
    const key = useCache ? requestKey(this.provider.model, call.request) : this.#dedupe ? inFlightKey(call.request) : undefined;
    if (key !== undefined && this.#dedupe) {
      const flight = this.#flights.get(key);
      // A refresh wants a new answer: it does not join a flight that may bring back the old one from the cache.
      if (flight && !flight.controller?.signal.aborted && !(cacheMode === 'refresh' && !flight.refresh)) {
        this.#limiter?.refund(call.tokens); // a joiner sends nothing
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
      jobId: undefined,
      reservedPico: estimatePico,
      request: call.request,
      leftKey: useCache ? key : undefined,
      end: undefined,
    };
    if (estimatePico > 0n) this.#budget!.reserve(estimatePico);
    flight.calls.add(call);
    call.flight = flight;
    if (key !== undefined && this.#dedupe) this.#flights.set(key, flight);
    this.#running++;
    // The slot is freed before callers hear the outcome, so metrics read after `await complete()` are settled.
    void this.#run(flight, call, useCache).then((settle) => {
      flight.done = true;
      this.#running--;
      this.#unreserve(flight);
      if (flight.key !== undefined && this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
      flight.end?.();
      try {
        settle?.();
      } finally {
        this.#pump();
        this.#checkIdle();
      }
    });
  }

  /** Hands a flight's budget reservation back (its job's charge is booked, or it made none). */
  #unreserve(flight: Flight): void {
    if (flight.reservedPico > 0n) {
      this.#budget!.release(flight.reservedPico);
      flight.reservedPico = 0n;
    }
  }

  /** Runs a flight to its end and returns how to tell its callers (undefined when they all left). Never rejects. */
  async #run(flight: Flight, owner: Call, useCache: boolean): Promise<(() => void) | undefined> {
    try {
      return await this.#attempts(flight, owner, useCache);
    } catch (unexpected) {
      const error = this.#asShoalError(unexpected);
      return () => {
        for (const call of flight.calls) this.#settleError(call, error);
      };
    }
  }

  /** Before any job: waits for an earlier flight of the same request to unwind, then serves the call from the cache if it can. */
  async #attempts(flight: Flight, owner: Call, useCache: boolean): Promise<(() => void) | undefined> {
    const { key } = flight;
    if (!this.#left.empty) {
      // A flight for this request whose callers left may still be waiting for its create's
      // answer: what it leaves (a job id, a lost create) must be known before this one looks.
      await this.#left.settle(this.#leftKey(flight), () => flight.end !== undefined);
      if (flight.calls.size === 0) return undefined; // left meanwhile
    }
    const journaled = this.#store !== undefined && useCache && key !== undefined;
    let over: (() => void) | undefined;
    if (journaled) {
      // A flight for this request still unwinding (its callers left, or dedup is off): wait
      // until its journal entry is final, so that this one sees its result or its job; then
      // hold the key (before any await) for this flight.
      for (let previous = this.#journaling.get(key); previous; previous = this.#journaling.get(key)) await previous;
      this.#journaling.set(key, new Promise<void>((resolve) => (over = resolve)));
    }
    const release = () => {
      if (journaled) {
        this.#journaling.delete(key);
        over!();
      }
    };
    if (useCache && key !== undefined && !flight.refresh) {
      let hit: CachedCompletion | undefined;
      try {
        hit = await this.#cache!.get(key);
      } catch {
        hit = undefined; // a failing cache store must not fail the call; it only costs a job
      }
      if (hit) {
        release();
        this.#limiter?.refund(owner.tokens); // no request was made
        const found = hit;
        return () => {
          for (const call of flight.calls) this.#settleCached(call, found);
        };
      }
    }
    if (!journaled) return this.#jobAttempts(flight, owner, useCache, undefined);
    // The journal is keyed by the cache key: one session per flight of a request.
    const session = new JournalSession(this.#store!.journal, key, this.#onStoreError);
    try {
      return await this.#jobAttempts(flight, owner, useCache, session);
    } finally {
      await session.end();
      release();
    }
  }

  /**
   * The attempts of one flight: creates (or re-attaches to a job by id) and retries under
   * the retry policy, booking every job when it is created. Returns how to tell the callers,
   * or undefined when they all left (a job then left running is kept in LeftJobs).
   */
  async #jobAttempts(flight: Flight, owner: Call, useCache: boolean, session: JournalSession | undefined): Promise<(() => void) | undefined> {
    // What a call of this process for the same request left when its callers stopped waiting
    // (taken only by a flight someone still waits for: one left meanwhile would drop it).
    if (flight.calls.size === 0) return undefined;
    const left = this.#left.empty ? undefined : this.#left.take(this.#leftKey(flight));
    if (left?.kind === 'ambiguous' && !this.#retry.ambiguousCreates) {
      // Nobody saw that create's answer lost: a job may exist, so the same request is not sent again.
      const error = new AmbiguousCreateError(
        `An earlier call of this process for the same request sent a create whose answer was lost after its callers stopped waiting: a job may exist and be paid for. Not sent again; set \`retry: { ambiguousCreates: true }\` to send it anyway. (${left.error.message})`,
        { cause: left.error, callId: owner.id },
      );
      return () => {
        for (const call of flight.calls) this.#settleError(call, error);
      };
    }
    // A job this process created for the same request: re-attach, book nothing again.
    const detached = left?.kind === 'job' && this.provider.doResume ? left : undefined;
    if (detached) flight.jobId = detached.jobId;
    // What an earlier run left: a job to wait for by id, or a create it may have sent.
    const entry = session ? await session.lookup() : undefined;
    let resumeJobId = detached?.jobId ?? (this.provider.doResume ? entry?.jobId : undefined);
    const idempotencyRoot = entry?.idempotencyKey ?? owner.id;
    if (entry && resumeJobId === undefined) {
      this.#recreated++;
      if (this.events.listenerCount('job-recreated') > 0) {
        this.#emit('job-recreated', { callId: owner.id, at: performance.now(), tags: owner.options?.tags, spanId: owner.options?.spanId, idempotencyKey: entry.idempotencyKey, jobId: entry.jobId });
      }
    }
    const errors: ShoalError[] = [];
    let requests = 0;
    // Money is booked when a job is created (ShortAPI charges at create), so failed, aborted
    // and replaced jobs are counted, and the budget sees jobs still in flight. `charged`: what
    // this flight's creates booked; `jobBooked`: what the ledger holds for the current job
    // (a re-attached job of this process was booked by the flight that created it).
    let charged = 0n;
    let jobBooked = detached?.bookedPico ?? 0n;
    let jobBookedHere = 0n;
    let generation = 0;
    const tags = owner.options?.tags;
    const signal = flight.controller?.signal ?? this.#stop.signal;
    const gate = this.#gate;
    for (let attempt = 1; ; attempt++) {
      if (flight.calls.size === 0) return this.#detach(flight, jobBooked); // every caller stopped waiting
      if (attempt > 1 && gate) {
        // A create sent again waits in line with the polls: many retries woken by one Retry-After leave one by one.
        const paced = gate.acquire(signal, owner.tokens);
        if (paced) {
          try {
            await paced;
          } catch {
            return this.#detach(flight, jobBooked);
          }
        }
      }
      let result: ProviderResult;
      /** Whether the provider reported an answer in this attempt (one written before `onAnswer` existed reports none: the executor counts for it). */
      let answered = false;
      const context: ProviderCallContext = {
        signal,
        callId: owner.id,
        idempotencyKey: generation === 0 ? idempotencyRoot : `${idempotencyRoot}.${generation}`,
        attempt,
        retryPoll: (error, pollAttempt) => {
          if (ShoalError.isInstance(error) && error.code === 'RATE_LIMITED') this.#onRateLimited((error as RateLimitError).retryAfterMs);
          return decideRetry({ error, attempt: pollAttempt, options: this.#retry, random: this.#random, phase: 'poll' });
        },
        ...(gate ? { beforeQuery: () => gate.acquire(signal) } : {}),
        hardStop: this.#kill.signal,
        onAnswer: (status) => {
          answered = true;
          if (status !== 429) this.#accepted(); // a 429 is counted with its error, which carries the Retry-After
        },
        onRequest: () => {
          requests++;
          this.#requests++;
        },
        onJobCreated: (jobId, amountUsd) => {
          this.#jobs++;
          flight.jobId = jobId;
          session?.created(jobId);
          const pico = amountUsd === undefined ? undefined : parseUsdToPico(amountUsd);
          jobBooked = jobBookedHere = 0n;
          if (pico !== undefined) {
            this.#ledger.charge(pico, tags);
            // The first charge ends the budget's slow start: wake the dispatcher rather than wait for this job to end.
            if (this.#budget?.observe(pico)) queueMicrotask(() => this.#pump());
            charged += pico;
            jobBooked = jobBookedHere = pico;
            this.#unreserve(flight); // the charge itself now counts against the budget
          }
          if (this.events.listenerCount('job-created') > 0) {
            this.#emit('job-created', { callId: owner.id, at: performance.now(), tags: owner.options?.tags, spanId: owner.options?.spanId, jobId, attempt });
          }
        },
      };
      try {
        if (resumeJobId !== undefined) {
          const jobId = resumeJobId;
          resumeJobId = undefined; // once: a replacement after a failed job is a new create
          flight.jobId = jobId;
          this.#resumed++;
          if (this.events.listenerCount('job-resumed') > 0) {
            this.#emit('job-resumed', { callId: owner.id, at: performance.now(), tags: owner.options?.tags, spanId: owner.options?.spanId, jobId, attempt });
          }
          result = await this.provider.doResume!(owner.request, jobId, context);
        } else {
          if (session) {
            await session.beforeCreate(context.idempotencyKey);
            // The journal write took a turn: the callers may have left, or a shutdown begun, meanwhile.
            if (flight.calls.size === 0 || signal.aborted) {
              session.withdraw();
              return this.#detach(flight, jobBooked);
            }
          }
          result = await this.provider.doComplete(owner.request, context);
        }
      } catch (raw) {
        const error = this.#asShoalError(raw);
        session?.afterError(error);
        if (!answered && error.status !== undefined && error.status !== 429) this.#accepted();
        if (flight.calls.size === 0) {
          // Its callers were answered already; nobody sees this error. A create whose answer was lost is remembered as such.
          if (error.code === 'CREATE_AMBIGUOUS') this.#left.remember(this.#leftKey(flight), { kind: 'ambiguous', error });
          return this.#detach(flight, jobBooked);
        }
        error.attempt ??= attempt;
        error.callId ??= owner.id;
        errors.push(error);
        if (error.code === 'JOB_FAILED' || error.code === 'JOB_NOT_FOUND') {
          // That job is over: a replacement is a new job, under a new key.
          generation++;
          flight.jobId = undefined;
          jobBooked = jobBookedHere = 0n;
        }
        if (error.code === 'RATE_LIMITED') this.#onRateLimited((error as RateLimitError).retryAfterMs);
        const decision = decideRetry({ error, attempt, options: this.#retry, random: this.#random, phase: 'call' });
        const overBudget = this.#budget?.spent ?? false;
        if (!decision.retry || overBudget) {
          // A job given up on while it may still run (its poll deadline passed) is left for the same request to re-attach to.
          if (error.code === 'TIMEOUT') this.#detach(flight, jobBooked);
          const final = decision.retry
            ? this.#budget!.error()
            : decision.exhausted && errors.length > 1
              ? new RetriesExhaustedError(errors, { callId: owner.id, jobId: error.jobId })
              : error;
          return () => {
            for (const call of flight.calls) this.#settleError(call, final, attempt);
          };
        }
        this.#retries++;
        if (this.events.listenerCount('call-retry') > 0) {
          this.#emit('call-retry', { callId: owner.id, at: performance.now(), tags: owner.options?.tags, spanId: owner.options?.spanId, attempt, delayMs: decision.delayMs, error });
        }
        try {
          await sleep(decision.delayMs, signal);
        } catch {
          return this.#detach(flight, jobBooked);
        }
        continue;
      }
      if (!answered) this.#accepted();
      flight.jobId = undefined;
      return this.#succeed(flight, owner, result, { attempts: attempt, requests, useCache, otherJobsPico: charged - jobBookedHere, jobBookedPico: jobBooked }, session);
    }
  }

  /** Every caller left (or the executor stopped): a job left running is remembered, so the same request re-attaches to it. */
  #detach(flight: Flight, bookedPico: bigint): undefined {
    if (flight.jobId !== undefined && this.provider.doResume) this.#left.remember(this.#leftKey(flight), { kind: 'job', jobId: flight.jobId, bookedPico });
    return undefined;
  }

  /** The request key of a flight's request, for LeftJobs: the cache key when it has one, else made now (rare: only when something was left). */
  #leftKey(flight: Flight): string {
    return (flight.leftKey ??= requestKey(this.provider.model, flight.request));
  }

  /** An answer other than 429: for the adaptive concurrency and the learnt rate. */
  #accepted(): void {
    this.#concurrency.onAnswer();
    this.#limiter?.learned?.onAccepted();
  }

  async #succeed(flight: Flight, owner: Call, result: ProviderResult, tally: Tally, session: JournalSession | undefined): Promise<() => void> {
    let usage = result.usage;
    let usageSource: 'usage' | 'counted' = 'usage';
    if (!usage) {
      usage = { inputTokens: await countTokens(owner.request.prompt), cachedInputTokens: 0, outputTokens: await countTokens(result.text) };
      usageSource = 'counted';
    }
    if (this.#limiter?.tokens && owner.tokens > 0) {
      const used = usage.inputTokens + usage.outputTokens;
      if (used > owner.tokens) this.#limiter.tokens.take(used - owner.tokens);
      else this.#limiter.tokens.refund(owner.tokens - used);
    }
    const cost = this.#ledger.costOf(result.amountUsd, usage, usageSource);
    this.#budget?.observe(cost.pico);
    // What was booked for this job already (at its create) is corrected to the final figure (the query may report its own amount).
    this.#ledger.record('job', usage, cost.pico - tally.jobBookedPico, owner.options?.tags);
    // The call's cost: its job (whoever booked it) and any other job it paid for (failed ones).
    const costUsd = picoToUsd(tally.otherJobsPico + cost.pico);
    if (tally.useCache && flight.key !== undefined) {
      const entry: CachedCompletion = { text: result.text, jobId: result.jobId, usage, costUsd, model: result.model };
      try {
        await this.#cache!.set(flight.key, entry);
        // Cached: the journal entry can close. Else it stays, so a rerun fetches the job again by id, at no cost.
        session?.succeeded();
      } catch {
        // a failing cache store costs a later job, never this result
        if (session) this.#storeErrors++;
      }
    }
    return () => this.#settleFlight(flight, owner, result, usage, costUsd, tally.attempts, tally.requests);
  }

  #settleFlight(flight: Flight, owner: Call, result: ProviderResult, usage: Usage, costUsd: number, attempts: number, requests: number): void {
    for (const call of flight.calls) {
      const shared = call !== owner;
      if (shared) {
        this.#dedupedCount++;
        this.#ledger.record('cached', undefined, 0n, call.options?.tags);
      }
      this.#settleOk(call, {
        text: result.text,
        jobId: result.jobId,
        usage,
        costUsd: shared ? 0 : costUsd,
        attempts: shared ? 0 : attempts,
        cached: false,
        deduplicated: shared,
        durationMs: performance.now() - call.enqueuedAt,
        requests: shared ? 0 : requests,
        model: result.model,
      });
    }
  }

  /**
   * Emits without letting a throwing listener break the executor: the queue, the slots and
   * the other callers carry on. The listener's error goes to `listener-error` listeners,
   * or, when there are none, is thrown again on its own (an uncaught exception, as any
   * failing callback would be): never swallowed.
   */
  #emit<E extends keyof ExecutorEvents>(name: E, ...args: Parameters<ExecutorEvents[E]>): void {
    try {
      (this.events.emit as (name: E, ...rest: Parameters<ExecutorEvents[E]>) => boolean)(name, ...args);
    } catch (error) {
      if (name !== 'listener-error' && this.events.listenerCount('listener-error') > 0) {
        this.#emit('listener-error', { event: name, error });
      } else {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  // ---- settling ----

  #release(call: Call): boolean {
    if (call.state === SETTLED) return false;
    if (call.state === QUEUED) this.#queued--;
    call.state = SETTLED;
    if (call.timer) clearTimeout(call.timer);
    this.#active.delete(call);
    const flight = call.flight;
    if (flight) {
      flight.calls.delete(call);
      if (flight.calls.size === 0 && !flight.done && flight.controller && !flight.controller.signal.aborted) {
        // Nobody waits any more: stop the waiting (a create already sent still gets its answer,
        // so its job is booked and remembered). A new identical call starts a flight of its own
        // that waits for this one to unwind, then re-attaches to its job.
        if (flight.key !== undefined && this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
        flight.end = this.#left.unwinding(this.#leftKey(flight));
        flight.controller.abort(new AbortError('every caller stopped waiting'));
      }
    }
    return true;
  }

  #settleOk(call: Call, result: CompletionResult): void {
    if (!this.#release(call)) return;
    this.#done++;
    this.#latency.add(result.durationMs);
    if (this.events.listenerCount('call-end') > 0) {
      this.#emit('call-end', {
        callId: call.id,
        at: performance.now(),
        tags: call.options?.tags,
        spanId: call.options?.spanId,
        jobId: result.jobId,
        attempts: result.attempts,
        durationMs: result.durationMs,
        usage: result.usage,
        costUsd: result.costUsd,
        deduplicated: result.deduplicated,
        requests: result.requests,
      });
    }
    call.resolve(result);
  }

  #settleCached(call: Call, hit: CachedCompletion): void {
    if (call.state === SETTLED) return;
    this.#cachedCount++;
    this.#ledger.record('cached', undefined, 0n, call.options?.tags);
    const durationMs = performance.now() - call.enqueuedAt;
    if (this.events.listenerCount('call-cached') > 0) {
      this.#emit('call-cached', { callId: call.id, at: performance.now(), tags: call.options?.tags, spanId: call.options?.spanId, durationMs });
    }
    this.#settleOk(call, {
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

  #settleError(call: Call, error: ShoalError, attempts = 0): void {
    if (!this.#release(call)) return;
    this.#failed++;
    this.#ledger.record('failed', undefined, 0n, call.options?.tags);
    if (this.events.listenerCount('call-error') > 0) {
      this.#emit('call-error', {
        callId: call.id,
        at: performance.now(),
        tags: call.options?.tags,
        spanId: call.options?.spanId,
        error,
        attempts,
        durationMs: performance.now() - call.enqueuedAt,
      });
    }
    call.reject(error);
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#queued === 0 && this.#running === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  // ---- cancellation, timeouts, budget, 429s ----

  #watchSignal(signal: AbortSignal): void {
    if (this.#watched.has(signal)) return;
    this.#watched.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        const reason = this.#abortReason(signal);
        for (const call of [...this.#active]) if (call.options?.signal === signal) this.#settleError(call, reason);
        for (const call of this.#heap.items()) if (call.state === QUEUED && call.options?.signal === signal) this.#settleError(call, reason);
      },
      { once: true },
    );
  }

  #abortReason(signal: AbortSignal): ShoalError {
    const reason: unknown = signal.reason;
    if (ShoalError.isInstance(reason)) return reason;
    return new AbortError(
      `The call was aborted${reason instanceof Error && reason.name !== 'AbortError' ? ` (${reason.message})` : ''}. A job already created keeps running on the server: ShortAPI has no cancel endpoint.`,
      { cause: reason },
    );
  }

  #timeout(call: Call, timeoutMs: number): void {
    const where = call.state === QUEUED ? 'still queued' : 'running';
    const jobId = call.flight?.jobId;
    const left =
      jobId === undefined
        ? ''
        : ` Its job ${jobId} keeps running on the server: the same call made again in this process re-attaches to it (no second job, nothing booked twice).`;
    // Counts are taken before this call leaves, so a queued call counts itself.
    this.#settleError(
      call,
      new TimeoutError(
        `The call timed out after ${timeoutMs} ms (${where}; executor: ${this.#queued} queued, ${this.#running} running, concurrency ${this.#concurrency.current}/${this.#concurrency.max}).${left}`,
        { callId: call.id, ...(jobId === undefined ? {} : { jobId }) },
      ),
    );
  }

  #exceedBudget(): void {
    const first = !this.#budgetExceeded;
    this.#budgetExceeded = true;
    let rejected = 0;
    for (const call of this.#heap.drain()) {
      if (call.state !== QUEUED) continue;
      rejected++;
      this.#settleError(call, this.#budget!.error());
    }
    if (first && this.events.listenerCount('budget-exceeded') > 0) {
      this.#emit('budget-exceeded', { at: performance.now(), budgetUsd: this.#budget!.usd, spentUsd: picoToUsd(this.#ledger.total.costPico), rejected });
    }
    this.#checkIdle();
  }

  /** A 429, on a create or a poll: every request waits out its Retry-After, the learnt rate drops, and on a burst so does the concurrency. */
  #onRateLimited(retryAfterMs: number | undefined): void {
    this.#rateLimitedCount++;
    this.#limiter?.onRateLimited(retryAfterMs, this.#retry.maxRetryAfterMs);
    if (!this.#adaptive) return;
    const from = this.#concurrency.current;
    if (this.#concurrency.onRateLimited()) {
      this.#lastEffective = this.#concurrency.current;
      if (this.events.listenerCount('concurrency-change') > 0) {
        this.#emit('concurrency-change', { at: performance.now(), from, to: this.#lastEffective, reason: 'rate-limited' });
      }
    }
  }

  #asShoalError(error: unknown): ShoalError {
    if (ShoalError.isInstance(error)) return error;
    // A provider bug or an unexpected throw: wrap it, never retry it blindly.
    return new ShoalError('API_ERROR', `The provider threw an unexpected error: ${error instanceof Error ? error.message : String(error)}`, false, {
      cause: error,
    });
  }
}
