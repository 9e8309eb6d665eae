import { setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import { nanoid } from 'nanoid';
import {
  AbortError,
  BudgetExceededError,
  ExecutorClosedError,
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
import { NEVER_ABORTED } from '../util/never-signal.js';
import { AdaptiveConcurrency } from './adaptive-concurrency.js';
import { type CacheStore, type CachedCompletion, MemoryCacheStore, inFlightKey, requestKey } from './cache.js';
import { type DurableStore, JournalSession, checkDurableStore } from './journal.js';
import type { ExecutorEvents } from './events.js';
import { PriorityHeap } from './heap.js';
import { CostLedger, type Pricing, type TotalsSnapshot, snapshotTotals } from './ledger.js';
import { RateLimiter, type RateLimitOptions } from './rate-limiter.js';
import { DEFAULT_RETRY, type RetryOptions, decideRetry } from './retry-policy.js';

export interface ExecutorOptions {
  /** Where calls go: `shortApi()`, `openAICompatible()`, or a scripted provider in tests. */
  readonly provider: ModelProvider;
  /** Calls running at once. @default 16 */
  readonly concurrency?: number;
  /** Requests and tokens per minute. @default no limit */
  readonly rateLimit?: RateLimitOptions;
  readonly retry?: RetryOptions;
  /** Result cache: `true` (in-memory LRU of 10,000), `false`, `{ maxEntries }`, or your own store. @default true */
  readonly cache?: boolean | { readonly maxEntries: number } | CacheStore;
  /**
   * A durable store (result cache and journal of jobs), e.g. `sqliteStore('./run.db')` from
   * `@shoal/store-sqlite`: the same run started again after a crash takes finished results
   * from its cache and re-attaches to jobs already created. Replaces `cache` (give one or
   * the other). Calls with `cache: false` are not journaled. @default none
   */
  readonly store?: DurableStore;
  /** Identical requests in flight share one job. @default true */
  readonly dedupe?: boolean;
  /** Stop dispatching once this many USD are spent. @default no budget */
  readonly budgetUsd?: number;
  /** Prices used when the server reports no `amount`. @default the vendor's gpt-5.4-nano prices */
  readonly pricing?: Pricing;
  /** Default per-call timeout, queue wait included. @default none */
  readonly timeoutMs?: number;
  /** Lower concurrency on bursts of 429s, raise it back when they stop. @default true */
  readonly adaptiveConcurrency?: boolean;
  /** Uniform [0, 1) source for retry jitter (tests inject a seeded one). @default Math.random */
  readonly random?: () => number;
}

export interface CallOptions {
  /** Higher runs first; equal priorities run in arrival order. @default 0 */
  readonly priority?: number;
  /** Stops waiting at once (a job already created keeps running on the server). */
  readonly signal?: AbortSignal;
  /** Overall deadline from `complete()` to result, queue wait included. */
  readonly timeoutMs?: number;
  /** Labels for cost attribution (agent names, run ids). */
  readonly tags?: readonly string[];
  /** Use the result cache for this call. @default true */
  readonly cache?: boolean;
  /** A trace span id, echoed on this call's events (the coordinator links model jobs to agent calls with it). */
  readonly spanId?: string;
}

export interface CompletionResult {
  readonly text: string;
  /** The server's job id (undefined for providers without jobs). */
  readonly jobId: string | undefined;
  readonly usage: Usage;
  /** What this call cost, every job it created included (a failed one too): 0 when cached or served by an identical call in flight. */
  readonly costUsd: number;
  /** Attempts made for this call, the first included: each retry (after a 429, a 5xx or a failed job) adds one. 0 when cached or shared. */
  readonly attempts: number;
  readonly cached: boolean;
  /** Served by joining an identical call already in flight. */
  readonly deduplicated: boolean;
  /** From `complete()` to the result, queue wait included. */
  readonly durationMs: number;
  /** Outbound HTTP requests this call made (all attempts). */
  readonly requests: number;
  readonly model: string | undefined;
}

export interface ExecutorMetrics {
  readonly queued: number;
  readonly running: number;
  readonly done: number;
  readonly failed: number;
  readonly cached: number;
  readonly deduplicated: number;
  readonly retries: number;
  /** Jobs created (attempts that reached the server). */
  readonly jobs: number;
  /** Outbound HTTP requests (creates + queries). */
  readonly requests: number;
  readonly requestsPerJob: number;
  /** Percentiles over the last 10,000 calls, from `complete()` to result. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly mean: number };
  readonly concurrency: { readonly limit: number; readonly effective: number };
  readonly totals: TotalsSnapshot;
  readonly costUsd: number;
  readonly byTag: Record<string, TotalsSnapshot>;
  readonly budgetUsd: number | undefined;
  /** Calls refused because the executor was already closed or shutting down (work someone still wanted). */
  readonly refusedAfterClose: number;
  /** What this run picked up from an earlier one through the store's journal (all 0 without a store). */
  readonly recovery: {
    /** Jobs waited for by id from the journal (created by an earlier run, or by an earlier flight of this one): no create sent. */
    readonly resumed: number;
    /**
     * Creates sent again: an earlier run sent them (or was about to) and died before their
     * answer was journaled, so the server may hold a first job too. Sent under the same
     * idempotency key, so a server that honours it makes no second job.
     */
    readonly recreated: number;
    /** Store reads and writes that failed. A failed intent also fails its call, with nothing sent. */
    readonly storeErrors: number;
  };
}

export interface ShutdownOptions {
  /** How long calls in flight may take to finish before they are abandoned. @default 10000 */
  readonly deadlineMs?: number;
}

export interface ShutdownReport {
  /** Queued calls rejected with `ExecutorClosedError` before anything was sent for them. */
  readonly rejectedQueued: number;
  /** Calls running at shutdown that settled before the deadline (for a draining `close()`: the calls it waited for). */
  readonly finished: number;
  /** Calls still running at the deadline: rejected with `ExecutorClosedError`; their jobs, once created, stay in the journal. */
  readonly abandoned: number;
  /** True when no work was left undone (nothing rejected, nothing abandoned). */
  readonly clean: boolean;
}

export interface Executor {
  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult>;
  readonly events: EventEmitter<ExecutorEvents>;
  metrics(): ExecutorMetrics;
  /** Stops taking calls; with `drain` (default) waits for queued and running calls, else rejects the queued ones. Then closes the provider. */
  close(options?: { readonly drain?: boolean }): Promise<void>;
  /**
   * Stops at once, for a signal: no further call is dispatched (queued ones are rejected
   * with `ExecutorClosedError`), calls in flight may finish until the deadline and are then
   * abandoned, and the provider and the store are closed. With a store, what was left is in
   * it: a rerun does the rejected calls and re-attaches to the abandoned jobs.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
  readonly provider: ModelProvider;
}

const KNOWN_OPTIONS = [
  'provider',
  'concurrency',
  'rateLimit',
  'retry',
  'cache',
  'dedupe',
  'budgetUsd',
  'pricing',
  'timeoutMs',
  'adaptiveConcurrency',
  'random',
  'store',
];

const MAX_TIMER_MS = 2 ** 31 - 1;
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
  /** Only when some caller can stop waiting (a signal or a timeout); else the provider gets NEVER_ABORTED. */
  readonly controller: AbortController | undefined;
  /** Set once the outcome is known, so that settling callers does not abort finished work. */
  done: boolean;
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
  /** Journal keys with a flight in progress, and when that flight's journal writes are over. */
  readonly #journaling = new Map<string, Promise<void>>();
  /** With a store, flights no caller can leave still stop at a shutdown's deadline. */
  readonly #stop: AbortController | undefined;
  readonly #dedupe: boolean;
  readonly #flights = new Map<string, Flight>();
  readonly #ledger: CostLedger;
  readonly #budgetPico: bigint | undefined;
  readonly #budgetUsd: number | undefined;
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
  readonly #onStoreError = () => {
    this.#storeErrors++;
  };

  constructor(options: ExecutorOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ShoalConfigError(`createExecutor() takes one options object with at least \`provider\`, got ${describeValue(options)}.`);
    }
    rejectUnknownKeys('createExecutor()', options, KNOWN_OPTIONS);
    const provider = options.provider;
    if (!provider || typeof provider.doComplete !== 'function' || provider.specificationVersion !== 'shoal.provider.v1') {
      throw new ShoalConfigError('Expected `provider` to be a shoal provider such as `shortApi()` or `openAICompatible({...})`.');
    }
    this.provider = provider;
    const concurrency = expectNumber('concurrency', options.concurrency ?? 16, { min: 1, integer: true });
    const now = () => performance.now();
    this.#concurrency = new AdaptiveConcurrency(concurrency, now);
    this.#lastEffective = concurrency;
    this.#adaptive = options.adaptiveConcurrency ?? true;
    const rateLimit = options.rateLimit;
    if (rateLimit !== undefined) {
      rejectUnknownKeys('createExecutor({ rateLimit })', rateLimit, ['requestsPerMinute', 'tokensPerMinute', 'reservedOutputTokens']);
      if (rateLimit.requestsPerMinute !== undefined) expectNumber('rateLimit.requestsPerMinute', rateLimit.requestsPerMinute, { min: 1 });
      if (rateLimit.tokensPerMinute !== undefined) expectNumber('rateLimit.tokensPerMinute', rateLimit.tokensPerMinute, { min: 1 });
      if (rateLimit.reservedOutputTokens !== undefined) expectNumber('rateLimit.reservedOutputTokens', rateLimit.reservedOutputTokens, { min: 0 });
    }
    this.#limiter = rateLimit?.requestsPerMinute || rateLimit?.tokensPerMinute ? new RateLimiter(rateLimit, now) : undefined;
    this.#reservedOutputTokens = rateLimit?.reservedOutputTokens ?? 256;
    this.#tokenizerReady = !rateLimit?.tokensPerMinute;
    if (!this.#tokenizerReady) {
      void loadTokenizer().then(() => {
        this.#tokenizerReady = true;
        this.#pump();
      });
    }
    const retry = options.retry ?? {};
    rejectUnknownKeys('createExecutor({ retry })', retry, Object.keys(DEFAULT_RETRY));
    this.#retry = { ...DEFAULT_RETRY, ...retry };
    expectNumber('retry.maxAttempts', this.#retry.maxAttempts, { min: 1, integer: true });
    expectNumber('retry.baseDelayMs', this.#retry.baseDelayMs, { min: 0 });
    expectNumber('retry.maxDelayMs', this.#retry.maxDelayMs, { min: 0 });
    if (options.store !== undefined) {
      if (options.cache !== undefined) {
        throw new ShoalConfigError('Give `store` or `cache`, not both: a store brings its own result cache.');
      }
      this.#store = checkDurableStore(options.store);
      this.#stop = new AbortController();
      // One listener per waiting poll or request of each flight: as many as calls in flight.
      setMaxListeners(0, this.#stop.signal);
    }
    const cache = options.cache ?? true;
    this.#cache = this.#store
      ? this.#store.cache
      : cache === false
        ? undefined
        : cache === true
          ? new MemoryCacheStore()
          : 'get' in cache && typeof cache.get === 'function'
            ? cache
            : new MemoryCacheStore(expectNumber('cache.maxEntries', (cache as { maxEntries: number }).maxEntries, { min: 1, integer: true }));
    this.#dedupe = options.dedupe ?? true;
    this.#ledger = new CostLedger(options.pricing);
    if (options.budgetUsd !== undefined) {
      this.#budgetUsd = expectNumber('budgetUsd', options.budgetUsd, { min: 0 });
      this.#budgetPico = BigInt(Math.round(this.#budgetUsd * 1e12));
    }
    this.#timeoutMs = options.timeoutMs === undefined ? undefined : expectNumber('timeoutMs', options.timeoutMs, { min: 1, allowInfinity: true });
    this.#random = options.random ?? Math.random;
  }

  complete(request: CompletionRequest, options?: CallOptions): Promise<CompletionResult> {
    if (typeof request !== 'object' || request === null || typeof request.prompt !== 'string') {
      return Promise.reject(new ShoalConfigError(`complete() takes { prompt: string, args? }, got ${describeValue(request)}.`));
    }
    if (request.prompt.trim() === '') {
      return Promise.reject(new ShoalConfigError('complete() got an empty prompt: there is nothing to ask, and the job would still be paid for. Pass the text to send as `prompt`.'));
    }
    const args: unknown = request.args;
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      // Spread into the job's args, a string or an array would be sent (and paid for) mangled.
      return Promise.reject(new ShoalConfigError(`Expected \`args\` to be an object of model arguments, got ${describeValue(args)}.`));
    }
    if (this.#closed) {
      this.#refusedAfterClose++;
      return Promise.reject(new ExecutorClosedError());
    }
    if (this.#budgetExceeded) return Promise.reject(this.#budgetError());
    const priority = options?.priority ?? 0;
    if (typeof priority !== 'number' || Number.isNaN(priority)) {
      return Promise.reject(new ShoalConfigError(`Expected \`priority\` to be a number, got ${describeValue(priority)}.`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(this.#abortReason(signal));
    const callTimeout = options?.timeoutMs;
    if (callTimeout !== undefined && (typeof callTimeout !== 'number' || !(callTimeout >= 1))) {
      return Promise.reject(new ShoalConfigError(`Expected \`timeoutMs\` to be a number from 1 and up (Infinity for none), got ${describeValue(callTimeout)}.`));
    }
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
      latencyMs: { p50: p50!, p95: p95!, p99: p99!, mean: this.#latency.mean() },
      concurrency: { limit: this.#concurrency.max, effective: this.#concurrency.current },
      totals,
      costUsd: totals.costUsd,
      byTag: this.#ledger.byTag(),
      budgetUsd: this.#budgetUsd,
      refusedAfterClose: this.#refusedAfterClose,
      recovery: { resumed: this.#resumed, recreated: this.#recreated, storeErrors: this.#storeErrors },
    };
  }

  async close(options?: { readonly drain?: boolean }): Promise<void> {
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
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([idle.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs)))]);
      clearTimeout(timer);
      if (late) {
        const left = this.#store
          ? 'Its job, if created, keeps running on the server and stays in the journal: a rerun with the same store re-attaches to it.'
          : 'A job already created keeps running on the server.';
        for (const call of [...this.#active]) {
          abandoned++;
          this.#settleError(call, new ExecutorClosedError(`The executor shut down and its deadline of ${deadlineMs} ms passed with this call still running. ${left}`));
        }
        // Flights nobody could leave stop on the store's stop signal; without a store they run on, detached.
        this.#stop?.abort(new AbortError('the executor shut down'));
        if (!this.#stop) {
          // Calls no one can stop run on until their jobs end: the provider closes after them.
          void idle.then(() => this.#closeResources());
          return { rejectedQueued, finished: running - abandoned, abandoned, clean: false };
        }
        await idle;
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
      if (this.#budgetPico !== undefined) {
        const spent = this.#ledger.total.costPico;
        if (spent >= this.#budgetPico) {
          this.#exceedBudget();
          return;
        }
        // Calls in flight will cost about what jobs have cost so far: while they could take the
        // spend past the budget, wait for them rather than dispatch more.
        const jobs = this.#ledger.total.calls - this.#ledger.total.cachedCalls;
        if (this.#running > 0 && jobs > 0 && spent + (spent / BigInt(jobs)) * BigInt(this.#running) >= this.#budgetPico) return;
      }
      if (this.#limiter) {
        if (!this.#tokenizerReady) return; // resumes when the tokenizer has loaded
        if (head.tokens === 0 && this.#limiter.tokens) head.tokens = (countTokensSync(head.request.prompt) ?? 0) + this.#reservedOutputTokens;
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
      this.#dispatch(head);
    }
  }

  #dispatch(call: Call): void {
    this.#active.add(call);
    const now = performance.now();
    if (this.events.listenerCount('call-start') > 0) {
      this.#emit('call-start', { callId: call.id, at: now, tags: call.options?.tags, spanId: call.options?.spanId, priority: call.priority, queuedMs: now - call.enqueuedAt });
    }
    const useCache = this.#cache !== undefined && call.options?.cache !== false;
    // A hashed key when the cache needs one (stores persist keys); the plain text is enough to spot identical calls in flight.
    const key = useCache ? requestKey(this.provider.model, call.request) : this.#dedupe ? inFlightKey(call.request) : undefined;
    if (key !== undefined && this.#dedupe) {
      const flight = this.#flights.get(key);
      if (flight && !flight.controller?.signal.aborted) {
        this.#limiter?.refund(call.tokens); // a joiner sends nothing
        call.flight = flight;
        // A joiner may leave; the job is aborted only when every caller has (never while an owner without signal waits).
        flight.calls.add(call);
        return;
      }
    }
    const canLeave = call.options?.signal !== undefined || call.timer !== undefined;
    const flight: Flight = { key, calls: new Set(), controller: canLeave ? new AbortController() : undefined, done: false };
    flight.calls.add(call);
    call.flight = flight;
    if (key !== undefined && this.#dedupe) this.#flights.set(key, flight);
    this.#running++;
    // The slot is freed before callers hear the outcome, so metrics read after `await complete()` are settled.
    void this.#run(flight, call, useCache).then((settle) => {
      flight.done = true;
      this.#running--;
      if (flight.key !== undefined && this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
      try {
        settle?.();
      } finally {
        this.#pump();
        this.#checkIdle();
      }
    });
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

  async #attempts(flight: Flight, owner: Call, useCache: boolean): Promise<(() => void) | undefined> {
    const { key } = flight;
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
    if (useCache && key !== undefined) {
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

  async #jobAttempts(flight: Flight, owner: Call, useCache: boolean, session: JournalSession | undefined): Promise<(() => void) | undefined> {
    // What an earlier run left: a job to wait for by id, or a create it may have sent.
    const entry = session ? await session.lookup() : undefined;
    let resumeJobId = this.provider.doResume ? entry?.jobId : undefined;
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
    // and replaced jobs are counted, and the budget sees jobs still in flight.
    let charged = 0n;
    let chargedNow = 0n;
    let generation = 0;
    const tags = owner.options?.tags;
    const signal = flight.controller?.signal ?? this.#stop?.signal ?? NEVER_ABORTED;
    for (let attempt = 1; ; attempt++) {
      if (flight.calls.size === 0) return undefined; // every caller stopped waiting
      chargedNow = 0n;
      if (attempt > 1 && this.#limiter) {
        const waitMs = this.#limiter.waitMs(owner.tokens);
        if (waitMs > 0) {
          try {
            await sleep(waitMs, signal);
          } catch {
            return undefined;
          }
        }
        this.#limiter.take(owner.tokens);
      }
      let result: ProviderResult;
      const context: ProviderCallContext = {
        signal,
        callId: owner.id,
        idempotencyKey: generation === 0 ? idempotencyRoot : `${idempotencyRoot}.${generation}`,
        attempt,
        retryPoll: (error, pollAttempt) => decideRetry({ error, attempt: pollAttempt, options: this.#retry, random: this.#random, phase: 'poll' }),
        onRequest: () => {
          requests++;
          this.#requests++;
        },
        onJobCreated: (jobId, amountUsd) => {
          this.#jobs++;
          session?.created(jobId);
          const pico = amountUsd === undefined ? undefined : parseUsdToPico(amountUsd);
          if (pico !== undefined) {
            this.#ledger.charge(pico, tags);
            charged += pico;
            chargedNow = pico;
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
              return undefined;
            }
          }
          result = await this.provider.doComplete(owner.request, context);
        }
      } catch (raw) {
        const error = this.#asShoalError(raw);
        session?.afterError(error);
        if (flight.calls.size === 0) return undefined; // aborted by its callers: they were answered already
        if (error.code !== 'RATE_LIMITED' && error.status !== undefined) this.#concurrency.onAnswer();
        error.attempt ??= attempt;
        error.callId ??= owner.id;
        errors.push(error);
        if (error.code === 'JOB_FAILED') generation++; // its replacement is a new job, under a new key
        if (error.code === 'RATE_LIMITED' && this.#adaptive) this.#onRateLimited();
        const decision = decideRetry({ error, attempt, options: this.#retry, random: this.#random, phase: 'call' });
        const overBudget = this.#budgetPico !== undefined && this.#ledger.total.costPico >= this.#budgetPico;
        if (!decision.retry || overBudget) {
          const final = decision.retry
            ? this.#budgetError()
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
          return undefined;
        }
        continue;
      }
      this.#concurrency.onAnswer();
      return this.#succeed(flight, owner, result, attempt, requests, useCache, charged - chargedNow, chargedNow, session);
    }
  }

  async #succeed(
    flight: Flight,
    owner: Call,
    result: ProviderResult,
    attempts: number,
    requests: number,
    useCache: boolean,
    chargedBefore: bigint,
    chargedNow: bigint,
    session: JournalSession | undefined,
  ): Promise<() => void> {
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
    // What the create already booked is corrected to the final figure (the query may report its own amount).
    this.#ledger.record('job', usage, cost.pico - chargedNow, owner.options?.tags);
    const costUsd = picoToUsd(chargedBefore + cost.pico);
    if (useCache && flight.key !== undefined) {
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
    return () => this.#settleFlight(flight, owner, result, usage, costUsd, attempts, requests);
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
        // Nobody waits any more: stop the work, and let a new identical call start its own job.
        if (flight.key !== undefined && this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
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
    // Counts are taken before this call leaves, so a queued call counts itself.
    this.#settleError(
      call,
      new TimeoutError(
        `The call timed out after ${timeoutMs} ms (${where}; executor: ${this.#queued} queued, ${this.#running} running, concurrency ${this.#concurrency.current}/${this.#concurrency.max}).`,
        { callId: call.id },
      ),
    );
  }

  #budgetError(): BudgetExceededError {
    return new BudgetExceededError(this.#budgetUsd ?? 0, picoToUsd(this.#ledger.total.costPico));
  }

  #exceedBudget(): void {
    const first = !this.#budgetExceeded;
    this.#budgetExceeded = true;
    let rejected = 0;
    for (const call of this.#heap.drain()) {
      if (call.state !== QUEUED) continue;
      rejected++;
      this.#settleError(call, this.#budgetError());
    }
    if (first && this.events.listenerCount('budget-exceeded') > 0) {
      this.#emit('budget-exceeded', { at: performance.now(), budgetUsd: this.#budgetUsd ?? 0, spentUsd: picoToUsd(this.#ledger.total.costPico), rejected });
    }
    this.#checkIdle();
  }

  #onRateLimited(): void {
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
